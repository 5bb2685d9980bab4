//! C string literal escapes (C11 section 6.4.4.4), for rpcgen's
//! `const NAME = "text";`: the bytes a C program sees.

/// The bytes of the C string literal body `s` (between the quotes, as
/// written): `\n \t \r \a \b \f \v \\ \' \" \?`, octal `\ooo` (one to
/// three digits) and hex `\xhh...` escapes are interpreted; an unknown
/// escape `\c` stands for `c` (GCC's behaviour, with a warning there).
/// Numeric escapes wider than a byte keep their low 8 bits.
pub(super) fn unescape(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        i += 1;
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let Some(&e) = bytes.get(i) else {
            out.push(b'\\');
            break;
        };
        i += 1;
        let byte = match e {
            b'n' => b'\n',
            b't' => b'\t',
            b'r' => b'\r',
            b'a' => 0x07,
            b'b' => 0x08,
            b'f' => 0x0c,
            b'v' => 0x0b,
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match bytes.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                (v & 0xff) as u8
            }
            b'x' => {
                let mut v: u32 = 0;
                let mut any = false;
                while let Some(d) = bytes.get(i).and_then(|c| char::from(*c).to_digit(16)) {
                    v = (v << 4 | d) & 0xff;
                    any = true;
                    i += 1;
                }
                if !any {
                    out.extend_from_slice(b"\\x");
                    continue;
                }
                v as u8
            }
            other => other,
        };
        out.push(byte);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::unescape;

    #[test]
    fn interprets_c_escapes() {
        assert_eq!(unescape(r"plain"), b"plain");
        assert_eq!(unescape(r#"a\n\t\"q\" \\ \?"#), b"a\n\t\"q\" \\ ?");
        assert_eq!(unescape(r"\x41\101\0"), b"AA\0");
        assert_eq!(unescape(r"\xff\377"), [0xff, 0xff]);
        assert_eq!(unescape(r"\x"), br"\x");
        assert_eq!(unescape("tail\\"), b"tail\\");
        assert_eq!(unescape("é"), "é".as_bytes());
    }
}
