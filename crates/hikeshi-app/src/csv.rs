//! CSV export. Cells that a spreadsheet would run as a formula are prefixed with `'`.

pub fn csv_document<I>(header: &[&str], rows: I) -> String
where
    I: IntoIterator<Item = Vec<String>>,
{
    let mut out = String::new();
    push_row(&mut out, header.iter().map(|h| h.to_string()));
    for row in rows {
        push_row(&mut out, row.into_iter());
    }
    out
}

fn push_row(out: &mut String, cells: impl Iterator<Item = String>) {
    let mut first = true;
    for cell in cells {
        if !first {
            out.push(',');
        }
        first = false;
        // Spreadsheets also run `;`-led cells in some locales and full-width signs after
        // normalising them.
        let cell =
            if cell.starts_with(['=', '+', '-', '@', '\t', '\r', ';', '＝', '＋', '－', '＠']) {
                format!("'{cell}")
            } else {
                cell
            };
        if cell.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&cell.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&cell);
        }
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::csv_document;

    #[test]
    fn quotes_and_defuses() {
        let doc = csv_document(&["a", "b"], vec![vec!["x,\"y\"".into(), "=cmd()".into()]]);
        assert_eq!(doc, "a,b\r\n\"x,\"\"y\"\"\",'=cmd()\r\n");
        let doc = csv_document(&["a", "b"], vec![vec![";cmd".into(), "＝cmd()".into()]]);
        assert_eq!(doc, "a,b\r\n';cmd,'＝cmd()\r\n");
    }
}
