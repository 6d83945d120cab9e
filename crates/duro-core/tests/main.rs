//! The integration tests of `duro-core`, one test binary: whole views repositories, the state
//! file, golden Redshift SQL, Slack against a loopback listener, a PostgreSQL replication source,
//! and the tidy rules of the tree.

mod common;
mod notify_slack;
mod rendered_sql;
mod sources_postgres;
mod state_catalog;
mod state_history;
mod state_open;
mod state_retention;
mod tidy;
mod untrusted_repository;
mod views_repository;
