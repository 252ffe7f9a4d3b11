//! The lesson's scenarios through the library: a lock with SET NX EX, a one-time password with a
//! TTL, PERSIST, EXPIREAT in the past, and a counter shared by threads.

use std::time::{Duration, Instant};

use kvdb::{Db, Options, Reply, Ttl};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn bulk(s: &str) -> Reply {
    Reply::Bulk(s.as_bytes().to_vec())
}

#[test]
fn a_lock_taken_with_set_nx_ex_refuses_a_second_owner() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = Db::open(dir.path())?;
    let first = db.execute(&["SET", "lock:order:ord_8821", "worker-1", "NX", "EX", "30"]);
    assert_eq!(first, Reply::ok());
    let second = db.execute(&["SET", "lock:order:ord_8821", "worker-2", "NX", "EX", "30"]);
    assert_eq!(second, Reply::Nil);
    assert_eq!(
        db.execute(&["GET", "lock:order:ord_8821"]),
        bulk("worker-1")
    );
    let Reply::Integer(ttl) = db.execute(&["TTL", "lock:order:ord_8821"]) else {
        panic!("TTL must be an integer");
    };
    assert!((29..=30).contains(&ttl), "ttl {ttl}");
    Ok(())
}

#[test]
fn the_lock_survives_a_reopen_with_its_ttl() -> TestResult {
    let dir = tempfile::tempdir()?;
    {
        let db = Db::open(dir.path())?;
        assert_eq!(
            db.execute(&["SET", "lock:order:ord_8821", "worker-1", "NX", "EX", "30"]),
            Reply::ok()
        );
    }
    let db = Db::open(dir.path())?;
    assert_eq!(
        db.execute(&["SET", "lock:order:ord_8821", "worker-2", "NX", "EX", "30"]),
        Reply::Nil
    );
    assert!(matches!(db.ttl(b"lock:order:ord_8821")?, Ttl::At(_)));
    Ok(())
}

#[test]
fn an_otp_reports_its_ttl_and_is_gone_after_it_expires() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = Db::open(dir.path())?;
    assert_eq!(
        db.execute(&["SET", "otp:user:42", "918273", "EX", "300"]),
        Reply::ok()
    );
    let Reply::Integer(ttl) = db.execute(&["TTL", "otp:user:42"]) else {
        panic!("TTL must be an integer");
    };
    assert!((299..=300).contains(&ttl), "ttl {ttl}");

    assert_eq!(
        db.execute(&["SET", "otp:user:43", "111222", "PX", "150"]),
        Reply::ok()
    );
    assert_eq!(db.execute(&["GET", "otp:user:43"]), bulk("111222"));
    let deadline = Instant::now() + Duration::from_secs(5);
    while db.execute(&["GET", "otp:user:43"]) != Reply::Nil {
        assert!(Instant::now() < deadline, "the OTP never expired");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(db.execute(&["TTL", "otp:user:43"]), Reply::Integer(-2));
    assert_eq!(db.execute(&["EXISTS", "otp:user:43"]), Reply::Integer(0));
    Ok(())
}

#[test]
fn an_expired_otp_does_not_come_back_after_reopen() -> TestResult {
    let dir = tempfile::tempdir()?;
    {
        let db = Db::open(dir.path())?;
        assert_eq!(db.execute(&["SET", "otp", "1", "PX", "50"]), Reply::ok());
        std::thread::sleep(Duration::from_millis(120));
        assert_eq!(db.execute(&["GET", "otp"]), Reply::Nil);
    }
    let db = Db::open(dir.path())?;
    assert_eq!(db.execute(&["GET", "otp"]), Reply::Nil);
    assert_eq!(db.dbsize()?, 0);
    Ok(())
}

#[test]
fn persist_makes_ttl_minus_one() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = Db::open(dir.path())?;
    db.execute(&["SET", "session:1", "data", "EX", "100"]);
    assert_eq!(db.execute(&["PERSIST", "session:1"]), Reply::Integer(1));
    assert_eq!(db.execute(&["TTL", "session:1"]), Reply::Integer(-1));
    assert_eq!(db.execute(&["PERSIST", "session:1"]), Reply::Integer(0));
    drop(db);
    let db = Db::open(dir.path())?;
    assert_eq!(db.execute(&["TTL", "session:1"]), Reply::Integer(-1));
    Ok(())
}

#[test]
fn expireat_in_the_past_deletes_the_key() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = Db::open(dir.path())?;
    db.execute(&["SET", "promo", "on"]);
    assert_eq!(
        db.execute(&["EXPIREAT", "promo", "1000000000"]),
        Reply::Integer(1)
    );
    assert_eq!(db.execute(&["GET", "promo"]), Reply::Nil);
    assert_eq!(db.execute(&["EXISTS", "promo"]), Reply::Integer(0));
    drop(db);
    let db = Db::open(dir.path())?;
    assert_eq!(db.execute(&["GET", "promo"]), Reply::Nil);
    Ok(())
}

#[test]
fn incr_from_eight_threads_counts_every_increment() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = Db::open_with(dir.path(), Options::default())?;
    std::thread::scope(|scope| {
        for _ in 0..8 {
            let db = db.clone();
            scope.spawn(move || {
                for _ in 0..1000 {
                    assert!(matches!(
                        db.execute(&["INCR", "visit_count"]),
                        Reply::Integer(_)
                    ));
                }
            });
        }
    });
    assert_eq!(db.execute(&["GET", "visit_count"]), bulk("8000"));
    assert_eq!(db.incr(b"visit_count")?, 8001);
    Ok(())
}
