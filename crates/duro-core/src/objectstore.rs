//! S3 through `rust-s3` (blocking): uploading processor output, streaming it back, listing
//! (every page), deleting.
//! Works with AWS and S3-compatible servers (custom endpoint, path-style addressing).

use crate::config::{S3Config, Secret};
use s3::creds::Credentials;
use s3::error::S3Error;
use s3::{Bucket, Region};
use std::io::Write;
use std::path::Path;

/// An S3 problem, with what to check.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ObjectStoreError {
    pub message: String,
    /// Worth retrying (the network, not the configuration).
    pub transient: bool,
}

/// A configured bucket.
pub struct ObjectStore {
    bucket: Box<Bucket>,
    name: String,
}

impl std::fmt::Debug for ObjectStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectStore").field("bucket", &self.name).finish()
    }
}

fn describe(action: &str, url: &str, error: S3Error) -> ObjectStoreError {
    match error {
        S3Error::HttpFailWithBody(status, body) => {
            let code = body
                .split("<Code>")
                .nth(1)
                .and_then(|rest| rest.split("</Code>").next())
                .unwrap_or("")
                .to_owned();
            let hint = match status {
                403 => {
                    "; check the S3 keys (s3.access_key_id, s3.secret_access_key or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
                }
                404 => "; check s3.bucket and s3.endpoint",
                _ => "",
            };
            ObjectStoreError {
                message: format!("S3 refused to {action} {url} (HTTP {status} {code}){hint}"),
                transient: status >= 500,
            }
        }
        other => {
            ObjectStoreError { message: format!("cannot {action} {url}: {other}"), transient: true }
        }
    }
}

impl ObjectStore {
    /// The bucket of `config`, or `None` when no bucket is configured. Without keys, the
    /// standard AWS credential chain (profile, instance role) is asked.
    pub fn from_config(config: &S3Config) -> Result<Option<Self>, ObjectStoreError> {
        match &config.bucket {
            Some(name) => Self::for_bucket(config, name).map(Some),
            None => Ok(None),
        }
    }

    /// The bucket `name` with the endpoint, region and keys of `config` (an S3 load node's
    /// bucket, besides the staging one).
    pub fn for_bucket(config: &S3Config, name: &str) -> Result<Self, ObjectStoreError> {
        crate::crypto::install_provider();
        let config_error = |message: String| ObjectStoreError { message, transient: false };
        let region_name = config.region.clone().unwrap_or_else(|| "us-east-1".to_owned());
        let region = match &config.endpoint {
            Some(endpoint) => Region::Custom { region: region_name, endpoint: endpoint.clone() },
            None => region_name.parse().map_err(|e| config_error(format!("`s3.region`: {e}")))?,
        };
        let credentials = match config.keys() {
            Some((access, secret)) => {
                let token = config.session_token.as_ref().map(Secret::expose);
                Credentials::new(Some(access), Some(secret.expose()), token, None, None)
            }
            None => Credentials::default(),
        }
        .map_err(|e| config_error(format!("no S3 credentials: set s3.access_key_id and s3.secret_access_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY ({e})")))?;
        let bucket = Bucket::new(name, region, credentials)
            .map_err(|e| config_error(format!("S3 bucket `{name}`: {e}")))?;
        let bucket = if config.path_style { bucket.with_path_style() } else { bucket };
        Ok(Self { bucket, name: name.to_owned() })
    }

    /// `s3://bucket/key`.
    pub fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.name)
    }

    /// Uploads a local file without reading it whole into memory.
    pub fn upload(&self, key: &str, file: &Path) -> Result<(), ObjectStoreError> {
        let url = self.url(key);
        let mut reader = std::fs::File::open(file).map_err(|e| ObjectStoreError {
            message: format!("cannot read {}: {e}", file.display()),
            transient: false,
        })?;
        self.bucket
            .put_object_stream(&mut reader, key)
            .map(|_| ())
            .map_err(|e| describe("upload", &url, e))
    }

    /// Streams an object into `writer`.
    pub fn download<W: Write + Send + ?Sized>(
        &self,
        key: &str,
        writer: &mut W,
    ) -> Result<(), ObjectStoreError> {
        self.bucket
            .get_object_to_writer(key, writer)
            .map(|_| ())
            .map_err(|e| describe("download", &self.url(key), e))
    }

    /// An object as a stream, downloaded by a thread of its own through a pipe (never whole in
    /// memory or on disk). A download that fails is an error of the read that reaches its end,
    /// so a cut-off object is never taken for a whole one.
    pub fn reader(&self, key: &str) -> Result<ObjectReader, ObjectStoreError> {
        let (pipe, mut writer) = std::io::pipe().map_err(|e| ObjectStoreError {
            message: format!("cannot make a pipe to read {}: {e}", self.url(key)),
            transient: false,
        })?;
        let bucket = self.bucket.clone();
        let (key, url) = (key.to_owned(), self.url(key));
        let download = std::thread::spawn(move || {
            bucket
                .get_object_to_writer(&key, &mut writer)
                .map(|_| ())
                .map_err(|e| describe("download", &url, e))
        });
        Ok(ObjectReader { pipe, download: Some(download) })
    }

    /// The keys that start with `prefix`, sorted.
    pub fn list(&self, prefix: &str) -> Result<Vec<String>, ObjectStoreError> {
        let pages = self
            .bucket
            .list(prefix.to_owned(), None)
            .map_err(|e| describe("list", &self.url(prefix), e))?;
        let mut keys: Vec<String> =
            pages.into_iter().flat_map(|page| page.contents).map(|object| object.key).collect();
        keys.sort();
        Ok(keys)
    }

    pub fn delete(&self, key: &str) -> Result<(), ObjectStoreError> {
        self.bucket
            .delete_object(key)
            .map(|_| ())
            .map_err(|e| describe("delete", &self.url(key), e))
    }
}

/// An object being downloaded (see [`ObjectStore::reader`]).
pub struct ObjectReader {
    pipe: std::io::PipeReader,
    download: Option<std::thread::JoinHandle<Result<(), ObjectStoreError>>>,
}

impl std::io::Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.pipe.read(buf)?;
        if read == 0
            && !buf.is_empty()
            && let Some(download) = self.download.take()
        {
            match download.join() {
                Ok(Ok(())) => {}
                Ok(Err(error)) => return Err(std::io::Error::other(error.message)),
                Err(_) => return Err(std::io::Error::other("the download stopped")),
            }
        }
        Ok(read)
    }
}
