//! Header block compression: one zlib stream per direction for the whole
//! connection, primed with the SPDY/3 dictionary, each block ending in a
//! sync flush so the peer can decode it at once.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::SpdyError;
use super::dictionary::DICTIONARY;

/// Compresses this side's header blocks.
pub struct HeaderDeflater {
    z: Compress,
}

impl HeaderDeflater {
    pub fn new() -> Result<Self, SpdyError> {
        let mut z = Compress::new(Compression::default(), true);
        z.set_dictionary(&DICTIONARY)
            .map_err(|e| SpdyError::Zlib(e.to_string()))?;
        Ok(Self { z })
    }

    /// Appends the compressed form of `block` to `out`.
    pub fn compress(&mut self, block: &[u8], out: &mut Vec<u8>) -> Result<(), SpdyError> {
        let start = self.z.total_in();
        loop {
            out.reserve(block.len() / 2 + 64);
            let done = (self.z.total_in() - start) as usize;
            self.z
                .compress_vec(&block[done..], out, FlushCompress::Sync)
                .map_err(|e| SpdyError::Zlib(e.to_string()))?;
            let done = (self.z.total_in() - start) as usize;
            // A sync flush is complete once input is used up with room to spare.
            if done == block.len() && out.len() < out.capacity() {
                return Ok(());
            }
        }
    }
}

/// Decompresses the peer's header blocks.
pub struct HeaderInflater {
    z: Decompress,
}

impl HeaderInflater {
    pub fn new() -> Self {
        Self {
            z: Decompress::new(true),
        }
    }

    /// Decompresses one header block, refusing more than `limit` bytes of output.
    pub fn decompress(&mut self, input: &[u8], limit: usize) -> Result<Vec<u8>, SpdyError> {
        let mut out = Vec::with_capacity((input.len() * 4).clamp(64, limit));
        let start = self.z.total_in();
        loop {
            if out.len() == out.capacity() {
                if out.len() >= limit {
                    return Err(SpdyError::HeaderBlockTooLarge(limit));
                }
                out.reserve((out.len()).clamp(64, limit - out.len()));
            }
            let done = (self.z.total_in() - start) as usize;
            let out_before = out.len();
            match self
                .z
                .decompress_vec(&input[done..], &mut out, FlushDecompress::Sync)
            {
                Ok(Status::StreamEnd) => {
                    return Err(SpdyError::Zlib("the header stream ended".into()));
                }
                Ok(_) => {}
                Err(e) if e.needs_dictionary().is_some() => {
                    self.z
                        .set_dictionary(&DICTIONARY)
                        .map_err(|e| SpdyError::Zlib(format!("setting the dictionary: {e}")))?;
                    continue;
                }
                Err(e) => return Err(SpdyError::Zlib(e.to_string())),
            }
            let used = (self.z.total_in() - start) as usize;
            if used == input.len() && out.len() < out.capacity() {
                return Ok(out);
            }
            if used == done && out.len() == out_before {
                // no progress with input left and room for output
                return Err(SpdyError::Zlib("truncated header block".into()));
            }
        }
    }
}

impl Default for HeaderInflater {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dictionary_is_the_specifications() {
        assert_eq!(DICTIONARY.len(), 1423);
        let adler = Compress::new(Compression::default(), true)
            .set_dictionary(&DICTIONARY)
            .unwrap();
        assert_eq!(adler, 0xe3c6_a7c2);
    }

    #[test]
    fn blocks_share_one_stream_each_way() {
        let mut d = HeaderDeflater::new().unwrap();
        let mut i = HeaderInflater::new();
        for block in [&b"streamtype\0error"[..], b"streamtype\0stdout", b""] {
            let mut packed = Vec::new();
            d.compress(block, &mut packed).unwrap();
            assert_eq!(i.decompress(&packed, 1 << 16).unwrap(), block);
        }
    }

    #[test]
    fn large_blocks_and_limits() {
        let block: Vec<u8> = (0..200_000u32).map(|n| (n * 7 % 251) as u8).collect();
        let mut packed = Vec::new();
        HeaderDeflater::new()
            .unwrap()
            .compress(&block, &mut packed)
            .unwrap();
        assert_eq!(
            HeaderInflater::new().decompress(&packed, 1 << 20).unwrap(),
            block
        );
        assert!(matches!(
            HeaderInflater::new().decompress(&packed, 1000),
            Err(SpdyError::HeaderBlockTooLarge(1000))
        ));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(HeaderInflater::new().decompress(b"not zlib", 1024).is_err());
        let block: Vec<u8> = (0..=255u8).collect();
        let mut packed = Vec::new();
        HeaderDeflater::new()
            .unwrap()
            .compress(&block, &mut packed)
            .unwrap();
        // a cut block decodes to less than was sent (the frame parser then refuses it)
        let cut = &packed[..packed.len() / 2];
        let partial = HeaderInflater::new()
            .decompress(cut, 1024)
            .unwrap_or_default();
        assert!(partial.len() < block.len());
    }
}
