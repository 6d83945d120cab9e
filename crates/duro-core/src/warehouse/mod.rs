//! The warehouse: Redshift or PostgreSQL over the PostgreSQL protocol. Only this module knows
//! SQL drivers. `render` builds statements; `connection` connects and classifies errors;
//! `catalog` reads what the warehouse knows about a table (views on it, grants, columns);
//! `statement` sends text from the views repository one statement at a time.

pub mod catalog;
pub mod connection;
pub mod copy_in;
pub mod export;
pub mod grantee;
pub mod indexes;
pub mod render;
pub mod sessions;
pub mod statement;

pub use connection::{WarehouseError, cancel, connect, connect_named};
