//! Streaming rows into the warehouse: what a producer writes (on a thread of its own, so
//! reading and writing overlap) goes into `COPY … FROM STDIN`, a bounded number of chunks at a
//! time. Replication and S3 loads share it.

use crate::build::FailureClass;
use crate::warehouse::WarehouseError;
use std::io::Write;

/// Streams what `produce` writes into `statement` (a `COPY … FROM STDIN`) on `client`; returns the rows
/// loaded. `produce` runs on a thread of its own, so reading and writing overlap; at most
/// `PIPE_CHUNKS` chunks of `PIPE_CHUNK_BYTES` wait between them.
pub fn copy_in(
    client: &mut postgres::Client,
    statement: &str,
    produce: impl FnOnce(&mut dyn Write) -> Result<u64, WarehouseError> + Send,
) -> Result<u64, WarehouseError> {
    let classify = |e: postgres::Error| WarehouseError::from_postgres(&e, false);
    let mut writer = client.copy_in(statement).map_err(classify)?;
    let (sender, chunks) = std::sync::mpsc::sync_channel::<Vec<u8>>(PIPE_CHUNKS);
    let (produced, written) = std::thread::scope(|scope| {
        let producer = scope.spawn(move || -> Result<u64, WarehouseError> {
            let mut out = std::io::BufWriter::with_capacity(PIPE_CHUNK_BYTES, ChunkSender(sender));
            let rows = produce(&mut out)?;
            out.flush().map_err(|e| {
                WarehouseError::new(FailureClass::Internal, format!("cannot pass rows on: {e}"))
            })?;
            Ok(rows)
        });
        let mut written = Ok(());
        for chunk in &chunks {
            written = writer.write_all(&chunk);
            if written.is_err() {
                break;
            }
        }
        // After a failed write the producer's next chunk finds no reader and it stops.
        drop(chunks);
        (producer.join().expect("the producing thread does not panic"), written)
    });
    // A write fails when the warehouse ended the COPY: its reason comes first.
    if let Err(error) = written {
        return Err(match writer.finish() {
            Err(refused) => classify(refused),
            Ok(_) => {
                WarehouseError::new(FailureClass::Connection, format!("the load stopped: {error}"))
            }
        });
    }
    produced?;
    writer.finish().map_err(classify)
}

/// Chunks in flight between the source's reader and the warehouse's writer.
const PIPE_CHUNKS: usize = 8;
const PIPE_CHUNK_BYTES: usize = 64 * 1024;

/// Hands each buffer to the writer's thread.
struct ChunkSender(std::sync::mpsc::SyncSender<Vec<u8>>);

impl Write for ChunkSender {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.send(buf.to_vec()).map_err(|_| std::io::ErrorKind::BrokenPipe)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
