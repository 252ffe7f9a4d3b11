//! `kvdb check`: verify (and optionally repair) a closed database directory (being written).
