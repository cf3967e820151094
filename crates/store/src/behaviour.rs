//! Shared behaviour suite (filled by the SQLite work).
