//! The integration tests of `duro-core`, one test binary: whole views repositories, the state
//! file, golden Redshift SQL, Slack against a loopback listener, and the tidy rules of the tree.

mod common;
mod notify_slack;
mod rendered_sql;
mod state_catalog;
mod state_history;
mod state_open;
mod tidy;
mod untrusted_repository;
mod views_repository;
