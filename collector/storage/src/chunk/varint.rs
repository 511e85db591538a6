//! LEB128 varints and zigzag-coded signed varints, used by the chunk
//! encodings and the ingest log records.

/// Appends an unsigned LEB128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a varint at `*pos`, advancing it.
pub fn get_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// Appends a signed value as a zigzag varint.
pub fn put_signed(out: &mut Vec<u8>, v: i64) {
    put_varint(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// Reads a zigzag varint at `*pos`, advancing it.
pub fn get_signed(buf: &[u8], pos: &mut usize) -> Option<i64> {
    let u = get_varint(buf, pos)?;
    Some(((u >> 1) as i64) ^ -((u & 1) as i64))
}

/// Appends an unsigned varint.
pub fn put_unsigned(out: &mut Vec<u8>, v: u64) {
    put_varint(out, v)
}
