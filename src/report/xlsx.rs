//! The checklist as a workbook: 清单 (identity, verdicts, every item and its detail rows),
//! 界址点, 数据来源 and SPGL. Values are written as strings (formula-looking text stays text);
//! coordinates and the SPGL area as numbers so they can be computed with.

use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};

use super::{ReportError, SOURCES_TITLE, View};
use crate::checklist::Checklist;

pub const SHEET_ITEMS: &str = "清单";
pub const SHEET_BOUNDARY: &str = "界址点";
pub const SHEET_SOURCES: &str = "数据来源";
pub const SHEET_SPGL: &str = "SPGL";

/// Display width in Excel character units: CJK and full-width characters take two.
pub fn display_width(s: &str) -> usize {
    s.lines()
        .map(|l| {
            l.chars()
                .map(|c| {
                    let u = c as u32;
                    if (0x1100..=0x115F).contains(&u)
                        || (0x2E80..=0xA4CF).contains(&u)
                        || (0xAC00..=0xD7A3).contains(&u)
                        || (0xF900..=0xFAFF).contains(&u)
                        || (0xFE30..=0xFE4F).contains(&u)
                        || (0xFF00..=0xFF60).contains(&u)
                        || (0xFFE0..=0xFFE6).contains(&u)
                        || (0x20000..=0x3FFFD).contains(&u)
                    {
                        2
                    } else {
                        1
                    }
                })
                .sum::<usize>()
        })
        .max()
        .unwrap_or(0)
}

/// Column widths that follow the content, within bounds per column.
struct Widths(Vec<(usize, usize, usize)>);

impl Widths {
    /// `bounds`: (min, max) per column.
    fn new(bounds: &[(usize, usize)]) -> Widths {
        Widths(bounds.iter().map(|&(lo, hi)| (lo, hi, lo)).collect())
    }

    fn see(&mut self, col: usize, s: &str) {
        if let Some((_, hi, w)) = self.0.get_mut(col) {
            *w = (*w).max(display_width(s) + 2).min(*hi);
        }
    }

    fn apply(&self, ws: &mut Worksheet) -> Result<(), XlsxError> {
        for (i, (_, _, w)) in self.0.iter().enumerate() {
            ws.set_column_width(i as u16, *w as f64)?;
        }
        Ok(())
    }
}

struct Formats {
    title: Format,
    head: Format,
    label: Format,
    cell: Format,
    warn: Format,
    number3: Format,
    number2: Format,
    mono: Format,
}

impl Formats {
    fn new() -> Formats {
        let base = Format::new()
            .set_font_name("Noto Sans CJK SC")
            .set_font_size(10)
            .set_text_wrap()
            .set_align(FormatAlign::Top)
            .set_border(FormatBorder::Thin)
            .set_border_color(Color::RGB(0x999999));
        Formats {
            title: Format::new()
                .set_font_name("Noto Sans CJK SC")
                .set_font_size(16)
                .set_bold(),
            head: base
                .clone()
                .set_bold()
                .set_background_color(Color::RGB(0xEEF1F5)),
            label: base
                .clone()
                .set_bold()
                .set_background_color(Color::RGB(0xF7F7F7)),
            cell: base.clone(),
            warn: base
                .clone()
                .set_bold()
                .set_font_color(Color::RGB(0xC00000))
                .set_background_color(Color::RGB(0xFDECEC)),
            number3: base.clone().set_num_format("0.000"),
            number2: base.clone().set_num_format("#,##0.00"),
            mono: base.set_font_name("Noto Sans Mono CJK SC"),
        }
    }
}

fn header(
    ws: &mut Worksheet,
    row: u32,
    names: &[&str],
    f: &Formats,
    widths: &mut Widths,
) -> Result<(), XlsxError> {
    for (i, n) in names.iter().enumerate() {
        ws.write_string_with_format(row, i as u16, *n, &f.head)?;
        widths.see(i, n);
    }
    Ok(())
}

fn items_sheet(ws: &mut Worksheet, v: &View, f: &Formats) -> Result<(), XlsxError> {
    ws.set_name(SHEET_ITEMS)?;
    let cols = [
        "序号",
        "编号",
        "分节",
        "项目",
        "内容",
        "单位",
        "状态",
        "责任部门",
        "规则",
        "依据",
        "数据来源",
    ];
    let mut w = Widths::new(&[
        (6, 6),
        (6, 8),
        (10, 18),
        (12, 24),
        (30, 60),
        (6, 10),
        (8, 10),
        (12, 28),
        (12, 36),
        (12, 36),
        (12, 36),
    ]);
    let mut r = 0u32;
    ws.write_string_with_format(r, 0, &v.title, &f.title)?;
    r += 1;
    ws.write_string(
        r,
        0,
        format!(
            "出具单位：{}　出具时间：{}　模板版本：{}",
            v.issuer, v.issued_at, v.template_version
        ),
    )?;
    r += 1;
    ws.write_string(r, 0, format!("校验码（SHA-256）：{}", v.sha256))?;
    r += 2;

    ws.write_string_with_format(r, 0, "地块基本情况", &f.head)?;
    r += 1;
    for field in &v.site {
        ws.merge_range(r, 0, r, 3, &field.label, &f.label)?;
        ws.write_string_with_format(r, 4, &field.value, &f.cell)?;
        w.see(4, &field.value);
        r += 1;
    }
    r += 1;
    ws.write_string_with_format(r, 0, "管控线结论", &f.head)?;
    r += 1;
    for d in &v.verdicts {
        let fmt = if d.warn { &f.warn } else { &f.cell };
        ws.merge_range(r, 0, r, 3, &d.line, fmt)?;
        let text = format!("{}：{}（{}）", d.status, d.text, d.area);
        ws.write_string_with_format(r, 4, &text, fmt)?;
        w.see(4, &text);
        r += 1;
    }
    r += 1;
    header(ws, r, &cols, f, &mut w)?;
    ws.set_freeze_panes(r + 1, 0)?;
    r += 1;
    for s in &v.sections {
        for it in &s.items {
            let fmt = if it.status_class == "warning" {
                &f.warn
            } else {
                &f.cell
            };
            let cells = [
                it.no.to_string(),
                it.id.clone(),
                s.title.clone(),
                it.name.clone(),
                it.lines.join("\n"),
                it.unit.clone(),
                it.status.clone(),
                it.department.clone(),
                it.rule.clone(),
                it.basis.clone(),
                it.sources.join("\n"),
            ];
            for (c, text) in cells.iter().enumerate() {
                let cf = if c == 4 || c == 6 { fmt } else { &f.cell };
                ws.write_string_with_format(r, c as u16, text, cf)?;
                w.see(c, text);
            }
            r += 1;
            if let Some(d) = &it.detail {
                for row in &d.rows {
                    let text = d
                        .headers
                        .iter()
                        .zip(row)
                        .filter(|(_, v)| !v.is_empty())
                        .map(|(h, v)| format!("{h}：{v}"))
                        .collect::<Vec<_>>()
                        .join("；");
                    ws.write_string_with_format(r, 1, &it.id, &f.cell)?;
                    ws.write_string_with_format(r, 3, "　明细", &f.cell)?;
                    ws.write_string_with_format(r, 4, &text, &f.cell)?;
                    w.see(4, &text);
                    r += 1;
                }
            }
        }
    }
    w.apply(ws)
}

fn boundary_sheet(ws: &mut Worksheet, v: &View, f: &Formats) -> Result<(), XlsxError> {
    ws.set_name(SHEET_BOUNDARY)?;
    let mut w = Widths::new(&[(8, 12), (6, 8), (16, 18), (16, 18)]);
    header(
        ws,
        0,
        &["点号", "圈号", "X（北坐标，m）", "Y（东坐标，m）"],
        f,
        &mut w,
    )?;
    ws.set_freeze_panes(1, 0)?;
    for (i, p) in v.boundary.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_string_with_format(r, 0, &p.name, &f.cell)?;
        ws.write_number_with_format(r, 1, p.ring, &f.cell)?;
        // The printed 3-dp text is the value: the spreadsheet and the PDF must agree.
        for (c, text) in [(2u16, &p.x), (3, &p.y)] {
            match text.parse::<f64>() {
                Ok(n) => ws.write_number_with_format(r, c, n, &f.number3)?,
                Err(_) => ws.write_string_with_format(r, c, text, &f.cell)?,
            };
        }
        w.see(0, &p.name);
    }
    w.apply(ws)
}

fn sources_sheet(ws: &mut Worksheet, v: &View, f: &Formats) -> Result<(), XlsxError> {
    ws.set_name(SHEET_SOURCES)?;
    let mut w = Widths::new(&[
        (10, 16),
        (12, 36),
        (6, 8),
        (14, 16),
        (20, 70),
        (12, 30),
        (12, 30),
        (12, 14),
        (6, 10),
    ]);
    ws.write_string_with_format(0, 0, SOURCES_TITLE, &f.title)?;
    ws.write_string(1, 0, format!("蓝图：{}　坐标系：{}", v.blueprint, v.crs))?;
    header(
        ws,
        3,
        &[
            "图层",
            "名称",
            "版本",
            "哈希",
            "完整哈希",
            "发布单位",
            "批准文号",
            "日期",
            "年份",
        ],
        f,
        &mut w,
    )?;
    ws.set_freeze_panes(4, 0)?;
    for (i, l) in v.sources.iter().enumerate() {
        let r = i as u32 + 4;
        let cells = [
            &l.layer,
            &l.title,
            &l.version,
            &l.short_hash,
            &l.hash,
            &l.issuing_body,
            &l.approval_no,
            &l.approval_date,
            &l.vintage,
        ];
        for (c, text) in cells.iter().enumerate() {
            let cf = if c == 3 || c == 4 { &f.mono } else { &f.cell };
            ws.write_string_with_format(r, c as u16, *text, cf)?;
            w.see(c, text);
        }
    }
    w.apply(ws)
}

fn spgl_sheet(ws: &mut Worksheet, c: &Checklist, v: &View, f: &Formats) -> Result<(), XlsxError> {
    ws.set_name(SHEET_SPGL)?;
    let mut w = Widths::new(&[(10, 12), (14, 30), (16, 40)]);
    header(ws, 0, &["字段", "名称", "值"], f, &mut w)?;
    for (i, field) in v.spgl.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_string_with_format(r, 0, &field.code, &f.mono)?;
        ws.write_string_with_format(r, 1, &field.label, &f.cell)?;
        w.see(1, &field.label);
        // The national system takes the area and the coordinates as numbers.
        let number = match field.code.as_str() {
            "ydmj" => Some((c.spgl.ydmj, &f.number2)),
            "xmjsddx" => Some((c.spgl.xmjsddx, &f.cell)),
            "xmjsddy" => Some((c.spgl.xmjsddy, &f.cell)),
            _ => None,
        };
        match number {
            Some((n, nf)) if n.is_finite() => {
                ws.write_number_with_format(r, 2, n, nf)?;
            }
            _ => {
                ws.write_string_with_format(r, 2, &field.value, &f.cell)?;
                w.see(2, &field.value);
            }
        }
    }
    w.apply(ws)
}

fn build(c: &Checklist) -> Result<Vec<u8>, XlsxError> {
    let v = View::new(c);
    let f = Formats::new();
    let mut wb = Workbook::new();
    items_sheet(wb.add_worksheet(), &v, &f)?;
    boundary_sheet(wb.add_worksheet(), &v, &f)?;
    sources_sheet(wb.add_worksheet(), &v, &f)?;
    spgl_sheet(wb.add_worksheet(), c, &v, &f)?;
    wb.save_to_buffer()
}

pub fn render_xlsx(c: &Checklist) -> Result<Vec<u8>, ReportError> {
    build(c).map_err(|e| ReportError::Xlsx(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_characters_count_double() {
        assert_eq!(display_width("abc"), 3);
        assert_eq!(display_width("地块编号"), 8);
        assert_eq!(display_width("A1（一）"), 8);
        assert_eq!(display_width("短\n长一些"), 6);
    }
}
