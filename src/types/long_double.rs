//! TEMPORARY stub; replaced by the soft long double implementation.
#![allow(missing_docs)]
#[derive(Debug, PartialEq, Eq)]
pub enum IncrFloatError {
    NotFloat,
    NanOrInfinity,
}
pub fn incr_by_float(current: &[u8], incr: &[u8]) -> Result<String, IncrFloatError> {
    let p = |b: &[u8]| {
        std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|f| !f.is_nan())
            .ok_or(IncrFloatError::NotFloat)
    };
    let v = p(current)? + p(incr)?;
    if !v.is_finite() {
        return Err(IncrFloatError::NanOrInfinity);
    }
    Ok(format!("{v}"))
}
