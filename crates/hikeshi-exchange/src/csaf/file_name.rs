//! CSAF 2.0 section 5.1: the file name is the tracking ID in lower case, every run of
//! characters outside `a-z`, `0-9`, `+` and `-` replaced by one underscore, then `.json`.

pub fn file_name(tracking_id: &str) -> String {
    let mut name = String::with_capacity(tracking_id.len() + 5);
    let mut in_run = false;
    for c in tracking_id.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '+' || c == '-' {
            name.push(c);
            in_run = false;
        } else if !in_run {
            name.push('_');
            in_run = true;
        }
    }
    name.push_str(".json");
    name
}

#[cfg(test)]
mod tests {
    use super::file_name;

    #[test]
    fn the_standards_examples() {
        assert_eq!(file_name("2022_#01-A"), "2022_01-a.json");
        assert_eq!(
            file_name("Example Company - 2019-YH3234"),
            "example_company_-_2019-yh3234.json"
        );
        assert_eq!(file_name("RHBA-2019:0024"), "rhba-2019_0024.json");
        assert_eq!(
            file_name("cisco-sa-20190513-secureboot"),
            "cisco-sa-20190513-secureboot.json"
        );
    }

    #[test]
    fn non_ascii_letters_become_one_underscore() {
        assert_eq!(file_name("JVN#12345678"), "jvn_12345678.json");
        assert_eq!(file_name("脆弱性-2026 Ä"), "_-2026_.json");
    }
}
