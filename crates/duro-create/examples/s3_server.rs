//! An S3-protocol server on a free loopback port, for the S3 load benchmark
//! (`tests/bench/s3_load.py`): `s3_server ROOT ACCESS_KEY SECRET_KEY` serves the folders under
//! ROOT as buckets, prints its endpoint on the first line of stdout and runs until killed.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the endpoint is the program's output, a usage error its message"
)]

#[path = "../tests/support/s3_server.rs"]
mod s3_server;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [root, access_key, secret_key] = args.as_slice() else {
        eprintln!("usage: s3_server ROOT ACCESS_KEY SECRET_KEY");
        std::process::exit(2);
    };
    let endpoint = s3_server::start_s3_server(std::path::Path::new(root), access_key, secret_key);
    println!("{endpoint}");
    loop {
        std::thread::park();
    }
}
