//! The integration tests of `duro-server`, one test binary sharing one private PostgreSQL
//! cluster and one filled installation: every page and endpoint in process, the server's
//! defences, and the real binary in headless Chromium.

mod browser;
mod common;
mod handlers;
mod security;
