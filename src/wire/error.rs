//! Decode errors: which layer, at which byte of the frame, and what was
//! required versus what was there (etherparse style).

use core::fmt;

/// A protocol layer of a frame, as named in error messages and field maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// The link-layer header itself (Ethernet, SLL, SLL2, NULL, PPP, ...).
    Link,
    /// An 802.1Q / 802.1ad VLAN tag.
    Vlan,
    /// A PPPoE session header (RFC 2516) with its PPP protocol field.
    Pppoe,
    /// An MPLS label stack entry (RFC 3032).
    Mpls,
    Ipv4,
    Ipv6,
    /// An IPv6 extension header (hop-by-hop, routing, fragment, destination
    /// options, AH).
    Ipv6Extension,
    Tcp,
}

impl Layer {
    pub fn name(self) -> &'static str {
        match self {
            Layer::Link => "link",
            Layer::Vlan => "vlan",
            Layer::Pppoe => "pppoe",
            Layer::Mpls => "mpls",
            Layer::Ipv4 => "ipv4",
            Layer::Ipv6 => "ipv6",
            Layer::Ipv6Extension => "ipv6 extension",
            Layer::Tcp => "tcp",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a frame could not be decoded down to TCP. Offsets count from the
/// first byte of the frame (or of the buffer handed to a single-layer view).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The header does not fit in the captured bytes.
    #[error(
        "{layer} header at byte {offset} truncated: needs {required} bytes, {available} captured"
    )]
    Truncated {
        layer: Layer,
        offset: usize,
        required: usize,
        available: usize,
    },
    /// A header field holds a value the header cannot have.
    #[error("{layer} header at byte {offset}: invalid {field} {value}")]
    Invalid {
        layer: Layer,
        offset: usize,
        field: &'static str,
        value: u32,
    },
}

impl DecodeError {
    /// The same error with `base` added to its offset (a view reports offsets
    /// relative to its own buffer; the frame decoder makes them absolute).
    pub fn shifted(self, base: usize) -> DecodeError {
        match self {
            DecodeError::Truncated {
                layer,
                offset,
                required,
                available,
            } => DecodeError::Truncated {
                layer,
                offset: offset + base,
                required,
                available,
            },
            DecodeError::Invalid {
                layer,
                offset,
                field,
                value,
            } => DecodeError::Invalid {
                layer,
                offset: offset + base,
                field,
                value,
            },
        }
    }

    pub fn layer(&self) -> Layer {
        match *self {
            DecodeError::Truncated { layer, .. } | DecodeError::Invalid { layer, .. } => layer,
        }
    }

    pub fn offset(&self) -> usize {
        match *self {
            DecodeError::Truncated { offset, .. } | DecodeError::Invalid { offset, .. } => offset,
        }
    }
}

/// Returns a `Truncated` error unless `buf` holds at least `required` bytes.
pub(crate) fn need(buf: &[u8], required: usize, layer: Layer) -> Result<(), DecodeError> {
    if buf.len() < required {
        Err(DecodeError::Truncated {
            layer,
            offset: 0,
            required,
            available: buf.len(),
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_layer_offset_and_lengths() {
        let e = DecodeError::Truncated {
            layer: Layer::Tcp,
            offset: 0,
            required: 20,
            available: 7,
        }
        .shifted(34);
        assert_eq!(
            e.to_string(),
            "tcp header at byte 34 truncated: needs 20 bytes, 7 captured"
        );
        assert_eq!(e.offset(), 34);
        assert_eq!(e.layer(), Layer::Tcp);
    }
}
