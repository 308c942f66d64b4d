//! Tests for [`super::Collation`]. Every expected ordering in `SERVER_CASES`
//! is what `STRCMP()` returned on MariaDB 10.11.19.

use super::*;
use Ordering::{Equal, Greater, Less};

/// The bytes of `s` in `c`'s character set (latin1: one byte per char).
fn enc(c: Collation, s: &str) -> Vec<u8> {
    if c.name().starts_with("latin1") {
        s.chars()
            .map(|ch| u8::try_from(ch).unwrap_or(b'?'))
            .collect()
    } else {
        s.as_bytes().to_vec()
    }
}

#[rustfmt::skip]
const SERVER_CASES: &[(Collation, &str, &str, Ordering)] = &[
        (Utf8mb4GeneralCi, "alice", "Bob", Less),
        (Utf8mb4GeneralCi, "Émile", "emile", Equal),
        (Utf8mb4GeneralCi, "PAID", "paid", Equal),
        (Utf8mb4GeneralCi, "paid", "paid ", Equal),
        (Utf8mb4GeneralCi, "a", "B", Less),
        (Utf8mb4GeneralCi, "\u{1f600}", "\u{fffd}", Equal),
        (Utf8mb4GeneralCi, "\u{1f600}", "\u{1f601}", Equal),
        (Utf8mb4GeneralCi, "ß", "s", Equal),
        (Utf8mb4GeneralCi, "ß", "ss", Less),
        (Utf8mb4GeneralCi, "Straße", "STRASE", Equal),
        (Utf8mb4GeneralCi, "æ", "Æ", Equal),
        (Utf8mb4GeneralCi, "æ", "ae", Greater),
        (Utf8mb4GeneralCi, "Æ", "z", Greater),
        (Utf8mb4GeneralCi, "ø", "Ø", Equal),
        (Utf8mb4GeneralCi, "ø", "o", Greater),
        (Utf8mb4GeneralCi, "ð", "d", Greater),
        (Utf8mb4GeneralCi, "ÿ", "Y", Equal),
        (Utf8mb4GeneralCi, "Ł", "L", Greater),
        (Utf8mb4GeneralCi, "ł", "Ł", Equal),
        (Utf8mb4GeneralCi, "ſ", "S", Equal),
        (Utf8mb4GeneralCi, "µ", "Μ", Equal),
        (Utf8mb4GeneralCi, "ά", "Α", Equal),
        (Utf8mb4GeneralCi, "σ", "ς", Equal),
        (Utf8mb4GeneralCi, "ё", "Ё", Equal),
        (Utf8mb4GeneralCi, "Ё", "Е", Equal),
        (Utf8mb4GeneralCi, "й", "и", Greater),
        (Utf8mb4GeneralCi, "ệ", "E", Equal),
        (Utf8mb4GeneralCi, "a\u{9}", "a", Less),
        (Utf8mb4GeneralCi, "a", "a\u{a0}", Less),
        (Utf8mb4GeneralCi, "", "  ", Equal),
        (Utf8mb4GeneralCi, "a b", "ab", Less),
        (Utf8mb4GeneralCi, "_", "a", Greater),
        (Utf8mb4GeneralCi, "Ａ", "A", Greater),
        (Utf8mb4GeneralCi, "中", "\u{1f600}", Less),
        (Utf8mb4Bin, "a", "B", Greater),
        (Utf8mb4Bin, "a", "a  ", Equal),
        (Utf8mb4Bin, "a\u{9}", "a", Less),
        (Utf8mb4Bin, "é", "e", Greater),
        (Utf8mb4Bin, "\u{fffd}", "\u{1f600}", Less),
        (Utf8mb4NopadBin, "a", "a ", Less),
        (Utf8mb4GeneralNopadCi, "A", "a ", Less),
        (Utf8mb4GeneralNopadCi, "a\u{9}", "a", Greater),
        (Utf8mb4UnicodeCi, "ß", "ss", Equal),
        (Utf8mb4UnicodeCi, "Straße", "STRASSE", Equal),
        (Utf8mb4UnicodeCi, "_", "a", Less),
        (Utf8mb4UnicodeCi, "-", "0", Less),
        (Utf8mb4UnicodeCi, "9", "a", Less),
        (Utf8mb4UnicodeCi, "æ", "ae", Greater),
        (Utf8mb4UnicodeCi, "æ", "b", Less),
        (Utf8mb4UnicodeCi, "ø", "o", Greater),
        (Utf8mb4UnicodeCi, "ø", "p", Less),
        (Utf8mb4UnicodeCi, "Émile", "emile", Equal),
        (Utf8mb4UnicodeCi, "ệ", "E", Equal),
        (Utf8mb4UnicodeCi, "Ａ", "a", Equal),
        (Utf8mb4UnicodeCi, "ﬁ", "fi", Equal),
        (Utf8mb4UnicodeCi, "a\u{301}", "á", Equal),
        (Utf8mb4UnicodeCi, "a\u{a0}", "a", Equal),
        (Utf8mb4UnicodeCi, "a\u{9}", "a", Less),
        (Utf8mb4UnicodeCi, "\u{2014}", "a", Less),
        (Utf8mb4UnicodeCi, "\u{201c}x", "x", Less),
        (Utf8mb4UnicodeCi, "€", "1", Less),
        (Utf8mb4UnicodeCi, "z", "α", Less),
        (Utf8mb4UnicodeCi, "α", "а", Less),
        (Utf8mb4UnicodeCi, "а", "中", Less),
        (Utf8mb4UnicodeCi, "\u{1f600}", "\u{1f601}", Equal),
        (Utf8mb4UnicodeCi, "\u{fffd}", "a", Less),
        (Utf8mb4UnicodeCi, "a\u{0}b", "ab", Equal),
        (Utf8mb4UnicodeNopadCi, "a", "a ", Less),
        (Utf8GeneralCi, "Émile", "emile", Equal),
        (Utf8Bin, "a", "B", Greater),
        (Latin1SwedishCi, "ä", "æ", Equal),
        (Latin1SwedishCi, "å", "z", Greater),
        (Latin1SwedishCi, "ö", "ø", Less),
        (Latin1SwedishCi, "ü", "y", Equal),
        (Latin1SwedishCi, "é", "E", Equal),
        (Latin1SwedishCi, "ß", "s", Greater),
        (Latin1SwedishCi, "Å", "[", Equal),
        (Latin1SwedishCi, "a", "A  ", Equal),
        (Latin1Bin, "a", "A", Greater),
        (Latin1Bin, "a", "a ", Equal),
        (Latin1NopadBin, "a", "a ", Less),
        (Binary, "a", "B", Greater),
        (Binary, "a", "a ", Less),
];

#[test]
fn compares_like_mariadb() {
    for &(c, a, b, want) in SERVER_CASES {
        let (a, b) = (enc(c, a), enc(c, b));
        let show = (c, String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));
        assert_eq!(c.compare(&a, &b), want, "{show:?}");
        assert_eq!(c.compare(&b, &a), want.reverse(), "reversed {show:?}");
        assert_eq!(
            c.sort_key(&a).cmp(&c.sort_key(&b)),
            want,
            "sort_key {show:?}"
        );
    }
}

#[test]
fn ids_and_names() {
    #[rustfmt::skip]
    let cases: &[(u16, &str, Collation)] = &[
        (45, "utf8mb4_general_ci", Utf8mb4GeneralCi), (46, "utf8mb4_bin", Utf8mb4Bin),
        (224, "utf8mb4_unicode_ci", Utf8mb4UnicodeCi), (33, "utf8mb3_general_ci", Utf8GeneralCi),
        (83, "utf8mb3_bin", Utf8Bin), (192, "utf8mb3_unicode_ci", Utf8UnicodeCi),
        (8, "latin1_swedish_ci", Latin1SwedishCi), (47, "latin1_bin", Latin1Bin),
        (63, "binary", Binary), (1069, "utf8mb4_general_nopad_ci", Utf8mb4GeneralNopadCi),
        (1070, "utf8mb4_nopad_bin", Utf8mb4NopadBin),
    ];
    for &(id, name, c) in cases {
        assert_eq!(Collation::from_id(id), Some(c));
        assert_eq!(Collation::from_name(name), Some(c));
        assert_eq!(Collation::from_name(&name.to_uppercase()), Some(c));
        assert_eq!((c.id(), c.name()), (id, name));
    }
    for &(c, id, name) in ALL {
        assert_eq!(
            (Collation::from_id(id), Collation::from_name(name)),
            (Some(c), Some(c))
        );
    }
    assert_eq!(Collation::from_name("utf8_general_ci"), Some(Utf8GeneralCi));
    assert_eq!(Collation::from_name("UTF8_BIN"), Some(Utf8Bin));
    assert_eq!(Collation::from_name("utf8mb4_klingon_ci"), None);
    assert_eq!(Collation::from_id(0), None);
    assert_eq!(Collation::from_id_lossy(232), Utf8mb4UnicodeCi); // utf8mb4_swedish_ci
    assert_eq!(Collation::from_id_lossy(48), Latin1SwedishCi); // latin1_general_ci
    assert_eq!(Collation::from_id_lossy(4242), Utf8mb4GeneralCi);
    assert!(Utf8mb4Bin.is_pad_space() && !Utf8mb4NopadBin.is_pad_space() && !Binary.is_pad_space());
}

#[test]
fn general_ci_weights() {
    // (char, weight) as reported by WEIGHT_STRING(... COLLATE utf8mb4_general_ci).
    #[rustfmt::skip]
    let cases: &[(char, u32)] = &[
        ('a', 0x41), ('Z', 0x5A), ('_', 0x5F), ('ß', 0x53), ('æ', 0xC6), ('Æ', 0xC6), ('ø', 0xD8),
        ('ð', 0xD0), ('þ', 0xDE), ('µ', 0x39C), ('ÿ', 0x59), ('×', 0xD7), ('÷', 0xF7), ('Ā', 0x41),
        ('ŀ', 0x13F), ('ł', 0x141), ('ſ', 0x53), ('ǅ', 0x1C4), ('ά', 0x391), ('ς', 0x3A3),
        ('ё', 0x415), ('й', 0x419), ('ệ', 0x45), ('ᾳ', 0x391), ('ⅰ', 0x2160), ('ａ', 0xFF21),
        ('中', 0x4E2D), ('\u{FFFF}', 0xFFFF), ('😀', 0xFFFD),
    ];
    for &(ch, w) in cases {
        assert_eq!(general_weight(u32::from(ch)), w, "{ch:?}");
    }
}

#[test]
fn invalid_utf8_never_panics_and_sorts_last() {
    let c = Utf8mb4GeneralCi;
    // A bad byte weighs more than any character; bad bytes keep byte order.
    #[rustfmt::skip]
    let cases: &[(&[u8], &[u8], Ordering)] = &[
        (b"a\xFF", "a\u{1F600}".as_bytes(), Greater),
        (b"a\xFF", b"a\xFE", Greater),
        (b"\xC3", "\u{FFFF}".as_bytes(), Greater), // truncated 2-byte sequence
        (b"\xE2\x82", b"\xE2\x83", Less),          // truncated 3-byte sequences
        (b"\xC0\x80", b"\xC0\x80", Equal),          // overlong NUL
        (b"\xF0\x9F\x98", b"\xF0", Greater),
    ];
    for &(a, b, want) in cases {
        for c in [c, Utf8mb4Bin, Utf8mb4UnicodeCi, Utf8GeneralCi] {
            assert_eq!(c.compare(a, b), want, "{c:?} {a:?} {b:?}");
            assert_eq!(c.sort_key(a).cmp(&c.sort_key(b)), want, "{c:?} {a:?} {b:?}");
        }
    }
    // utf8mb3 has no 4-byte characters: they are four bad bytes, not U+FFFD.
    let emoji = "\u{1F600}".as_bytes();
    assert_eq!(
        Utf8mb4GeneralCi.compare(emoji, "\u{FFFD}".as_bytes()),
        Equal
    );
    assert_eq!(Utf8GeneralCi.compare(emoji, "\u{FFFD}".as_bytes()), Greater);
}

/// `sort_key` agrees with `compare` on every pair, and `compare` is a total order.
#[test]
fn sort_key_matches_compare() {
    let strings: Vec<Vec<u8>> = [
        "",
        " ",
        "  ",
        "\t",
        "a",
        "a ",
        "a  ",
        "a\t",
        "a\t ",
        "a \t",
        "a b",
        "a  b",
        "ab",
        "A",
        "B",
        "b ",
        "alice",
        "Alice ",
        "Bob",
        "bob\t",
        "Émile",
        "emile",
        "EMILE  ",
        "PAID",
        "paid",
        "paid ",
        "ß",
        "s",
        "ss",
        "SS ",
        "Straße",
        "strasse",
        "æ",
        "ae",
        "Æ",
        "ø",
        "o",
        "ö",
        "z",
        "_",
        "-",
        "0",
        "9",
        "10",
        "\u{0}",
        "\u{1}",
        "\u{a0}",
        "a\u{a0}",
        "a\u{2003}",
        "\u{2014}",
        "\u{201c}",
        "€",
        "\u{301}",
        "e\u{301}",
        "é",
        "ﬁ",
        "fi",
        "Ａ",
        "α",
        "Α",
        "ά",
        "а",
        "ё",
        "е",
        "й",
        "中",
        "日本",
        "\u{FFFD}",
        "\u{1F600}",
        "\u{1F601}",
        "a\u{1F600}",
        "~",
        "\u{7f}",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .chain([
        b"\xFF".to_vec(),
        b"a\xC3".to_vec(),
        b"\xE4\xC5 ".to_vec(),
        b"[".to_vec(),
    ])
    .collect();
    for &(c, _, _) in ALL {
        let keys: Vec<Vec<u8>> = strings.iter().map(|s| c.sort_key(s)).collect();
        for (i, a) in strings.iter().enumerate() {
            assert_eq!(c.compare(a, a), Equal);
            for (j, b) in strings.iter().enumerate() {
                let ord = c.compare(a, b);
                assert_eq!(ord, keys[i].cmp(&keys[j]), "{c:?} {a:?} vs {b:?}");
                assert_eq!(ord.reverse(), c.compare(b, a), "{c:?} {a:?} vs {b:?}");
            }
        }
        // Transitivity: sorting by compare yields sorted keys.
        let mut sorted = strings.clone();
        sorted.sort_by(|a, b| c.compare(a, b));
        let sorted_keys: Vec<Vec<u8>> = sorted.iter().map(|s| c.sort_key(s)).collect();
        assert!(sorted_keys.windows(2).all(|w| w[0] <= w[1]), "{c:?}");
    }
}
