//! Evidence integrity: hash-chained action and audit logs, hashed evidence copies.
