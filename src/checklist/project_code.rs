//! 投资项目统一代码 `YYYY-NNNNNN-NN-NN-NNNNNN`: the pattern, and the administrative code of the
//! second segment checked against a GB/T 2260 table (`data/codes/gbt2260.csv`).

use std::collections::HashMap;
use std::sync::OnceLock;

use super::ChecklistError;

const GBT2260: &str = include_str!("../../data/codes/gbt2260.csv");

/// GB/T 2260 codes the table knows, with their names.
pub fn divisions() -> &'static HashMap<String, String> {
    static TABLE: OnceLock<HashMap<String, String>> = OnceLock::new();
    TABLE.get_or_init(|| {
        GBT2260
            .lines()
            .skip(1)
            .filter_map(|l| {
                let mut it = l.split(',');
                Some((it.next()?.trim().to_string(), it.next()?.trim().to_string()))
            })
            .collect()
    })
}

/// Checks a project code; returns the name of its administrative division.
pub fn validate(code: &str) -> Result<String, ChecklistError> {
    let bad = |reason: String| ChecklistError::ProjectCode {
        code: code.to_string(),
        reason,
    };
    let parts: Vec<&str> = code.split('-').collect();
    let widths = [4usize, 6, 2, 2, 6];
    let shape_ok = parts.len() == 5
        && parts
            .iter()
            .zip(widths)
            .all(|(p, w)| p.len() == w && p.bytes().all(|b| b.is_ascii_digit()));
    if !shape_ok {
        return Err(bad(
            "does not match YYYY-NNNNNN-NN-NN-NNNNNN (^\\d{4}-\\d{6}-\\d{2}-\\d{2}-\\d{6}$)".into(),
        ));
    }
    let year: u32 = parts[0].parse().unwrap_or(0);
    if !(1990..=2100).contains(&year) {
        return Err(bad(format!("year segment {year} is not plausible")));
    }
    match divisions().get(parts[1]) {
        Some(name) => Ok(name.clone()),
        None => Err(bad(format!(
            "administrative code {} is not a known GB/T 2260 division",
            parts[1]
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_yangdong_code() {
        assert_eq!(
            validate("2019-441704-47-01-000123").expect("valid"),
            "阳东区"
        );
    }

    #[test]
    fn refuses_bad_shapes_and_unknown_divisions() {
        for bad in [
            "2019-441704-47-01-00012",
            "2019-441704-47-1-000123",
            "2019/441704/47/01/000123",
            "20a9-441704-47-01-000123",
            "2019-441704-47-01-000123-1",
        ] {
            let e = validate(bad).expect_err(bad);
            assert!(e.to_string().contains("YYYY-NNNNNN"), "{e}");
        }
        let e = validate("2019-999999-47-01-000123").expect_err("unknown");
        assert!(e.to_string().contains("999999"), "{e}");
    }
}
