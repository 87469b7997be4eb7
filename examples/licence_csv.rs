//! Writes a deterministic CSV of 营业执照 rows for `sidian import` (tools/bench-import.sh and
//! tests/licence_import.rs):
//!
//! `cargo run --release --example licence_csv -- ROWS [BAD_EVERY] > licences.csv`
//!
//! With `BAD_EVERY` = n > 1, every n-th data row is bad, in turn: a wrong check character in
//! the 统一社会信用代码, an empty required face field, an impossible date, and the number of the
//! row before it with other content. The check characters are computed here from GB 32100,
//! apart from sidian's own code.

use std::io::Write;

/// 营业执照.
pub(crate) const BUSINESS: &str = "111000009000000146001";

/// The columns, in order.
pub(crate) const HEADER: &str = "number,holder_name,holder_id_number,valid_from,valid_to,issued_on,entity_type,legal_representative,registered_capital,established_on,operating_from,operating_to,domicile,business_scope";

/// How a bad row is bad, and the column the report must name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bad {
    /// A 统一社会信用代码 whose check character is wrong.
    CheckCharacter,
    /// `domicile` left empty.
    MissingField,
    /// `valid_from` on 30 February.
    ImpossibleDate,
    /// The number of the row before, with other content.
    DuplicateNumber,
}

/// Which data row (from 1) is bad, and how, with a bad row every `bad_every` rows (0: none).
pub(crate) fn bad_row(row: u64, bad_every: u64) -> Option<Bad> {
    if bad_every < 2 || !row.is_multiple_of(bad_every) {
        return None;
    }
    Some(match (row / bad_every) % 4 {
        0 => Bad::CheckCharacter,
        1 => Bad::MissingField,
        2 => Bad::ImpossibleDate,
        _ => Bad::DuplicateNumber,
    })
}

/// A valid 统一社会信用代码 for `n` (< 10^9): 91, region 370100, nine digits, check character.
pub(crate) fn uscc(n: u64) -> String {
    const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    let body = format!("91370100{n:09}");
    let mut weight = 1u32;
    let mut sum = 0u32;
    for b in body.bytes() {
        let v = u32::try_from(ALPHABET.iter().position(|&a| a == b).unwrap_or(0)).unwrap_or(0);
        sum += v * weight;
        weight = weight * 3 % 31;
    }
    let check = (31 - sum % 31) % 31;
    format!("{body}{}", char::from(ALPHABET[check as usize]))
}

/// The 证照编号 of data row `row`.
pub(crate) fn number(row: u64) -> String {
    format!("370100{row:012}")
}

/// The cells of data row `row` (from 1), good or bad as [`bad_row`] says.
pub(crate) fn row_cells(row: u64, bad_every: u64) -> Vec<String> {
    let bad = bad_row(row, bad_every);
    let year = 2000 + row % 20;
    let month = 1 + row % 12;
    let day = 1 + row % 28;
    let date = format!("{year:04}-{month:02}-{day:02}");
    let mut id = uscc(row);
    if bad == Some(Bad::CheckCharacter) {
        // Another character of the alphabet in the check position.
        let last = id.pop().unwrap_or('0');
        id.push(if last == '0' { '1' } else { '0' });
    }
    let valid_from = if bad == Some(Bad::ImpossibleDate) {
        format!("{year:04}-02-30")
    } else {
        date.clone()
    };
    let number = if bad == Some(Bad::DuplicateNumber) {
        number(row - 1)
    } else {
        number(row)
    };
    let domicile = if bad == Some(Bad::MissingField) {
        String::new()
    } else {
        format!("山东省济南市历下区经十路{row}号")
    };
    let reps = ["张三", "李四", "王五", "赵六", "孙七"];
    vec![
        number,
        format!("济南某某科技有限公司第{row}分公司"),
        id,
        valid_from,
        "长期".into(),
        date.clone(),
        "有限责任公司（自然人投资或控股）".into(),
        reps[usize::try_from(row % 5).unwrap_or(0)].into(),
        format!("{}万元整", 100 + row % 900),
        date.clone(),
        date,
        "长期".into(),
        domicile,
        "软件开发；信息技术咨询服务；数据处理和存储支持服务".into(),
    ]
}

/// Writes the header and `rows` data rows.
pub(crate) fn write_csv(out: &mut impl Write, rows: u64, bad_every: u64) -> std::io::Result<()> {
    writeln!(out, "{HEADER}")?;
    for row in 1..=rows {
        writeln!(out, "{}", row_cells(row, bad_every).join(","))?;
    }
    Ok(())
}

#[allow(dead_code)]
fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let rows: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let bad_every: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    write_csv(&mut out, rows, bad_every)?;
    out.flush()?;
    eprintln!("{rows} rows of 营业执照: sidian import --type {BUSINESS} --issuer ID FILE");
    Ok(())
}
