//! The `condition` language: `and`, `or`, `not`, parentheses, `1 of x*`, `all of them`.

use crate::RuleError;

#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// Index into the rule's selections.
    Sel(usize),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    /// At least one of / all of the listed selections.
    AnyOf(Vec<usize>),
    AllOf(Vec<usize>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Of,
    All,
    One,
    Them,
    Ident(String),
    Pipe,
}

fn tokenize(text: &str) -> Result<Vec<Tok>, RuleError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '(' {
            chars.next();
            out.push(Tok::LParen);
        } else if c == ')' {
            chars.next();
            out.push(Tok::RParen);
        } else if c == '|' {
            chars.next();
            out.push(Tok::Pipe);
        } else {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '(' || c == ')' || c == '|' {
                    break;
                }
                word.push(c);
                chars.next();
            }
            out.push(match word.to_ascii_lowercase().as_str() {
                "and" => Tok::And,
                "or" => Tok::Or,
                "not" => Tok::Not,
                "of" => Tok::Of,
                "all" => Tok::All,
                "1" | "any" => Tok::One,
                "them" => Tok::Them,
                _ => Tok::Ident(word),
            });
        }
    }
    Ok(out)
}

/// Wildcard match of selection names (`selection_*`).
fn name_matches(pattern: &str, name: &str) -> bool {
    crate::pattern::StringMatcher::new(crate::pattern::parse_sigma_string(pattern), true)
        .matches(name)
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    names: &'a [String],
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn or(&mut self) -> Result<Cond, RuleError> {
        let mut parts = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.next();
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Cond::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Cond, RuleError> {
        let mut parts = vec![self.not()?];
        while self.peek() == Some(&Tok::And) {
            self.next();
            parts.push(self.not()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Cond::And(parts)
        })
    }

    fn not(&mut self) -> Result<Cond, RuleError> {
        if self.peek() == Some(&Tok::Not) {
            self.next();
            return Ok(Cond::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn selections(&self, pattern: &str) -> Result<Vec<usize>, RuleError> {
        let found: Vec<usize> = self
            .names
            .iter()
            .enumerate()
            .filter(|(_, n)| {
                if pattern == "them" {
                    !n.starts_with('_')
                } else {
                    name_matches(pattern, n)
                }
            })
            .map(|(i, _)| i)
            .collect();
        if found.is_empty() {
            return Err(RuleError::Condition(format!(
                "`{pattern}` names no selection"
            )));
        }
        Ok(found)
    }

    fn primary(&mut self) -> Result<Cond, RuleError> {
        match self.next() {
            Some(Tok::LParen) => {
                let inner = self.or()?;
                match self.next() {
                    Some(Tok::RParen) => Ok(inner),
                    _ => Err(RuleError::Condition("missing `)`".into())),
                }
            }
            Some(q @ (Tok::One | Tok::All)) => {
                if self.next() != Some(Tok::Of) {
                    return Err(RuleError::Condition("expected `of` after `1`/`all`".into()));
                }
                let target = match self.next() {
                    Some(Tok::Them) => "them".to_string(),
                    Some(Tok::Ident(name)) => name,
                    other => {
                        return Err(RuleError::Condition(format!(
                            "expected a selection name after `of`, found {other:?}"
                        )))
                    }
                };
                let sels = self.selections(&target)?;
                Ok(if q == Tok::One {
                    Cond::AnyOf(sels)
                } else {
                    Cond::AllOf(sels)
                })
            }
            Some(Tok::Ident(name)) => match self.names.iter().position(|n| *n == name) {
                Some(i) => Ok(Cond::Sel(i)),
                None => Err(RuleError::Condition(format!("unknown selection `{name}`"))),
            },
            Some(Tok::Pipe) => Err(RuleError::Unsupported(
                "aggregation in condition (`| count()`): use a correlation rule".into(),
            )),
            other => Err(RuleError::Condition(format!("unexpected {other:?}"))),
        }
    }
}

/// Parses a condition against the rule's selection names.
pub fn parse_condition(text: &str, names: &[String]) -> Result<Cond, RuleError> {
    let toks = tokenize(text)?;
    if toks.is_empty() {
        return Err(RuleError::Condition("empty condition".into()));
    }
    let mut p = Parser {
        toks,
        pos: 0,
        names,
    };
    let cond = p.or()?;
    match p.peek() {
        None => Ok(cond),
        Some(Tok::Pipe) => Err(RuleError::Unsupported(
            "aggregation in condition (`| count()`): use a correlation rule".into(),
        )),
        Some(t) => Err(RuleError::Condition(format!(
            "unexpected {t:?} after the end of the condition"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        [
            "selection",
            "filter_main",
            "filter_optional",
            "_helper",
            "kw",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    #[test]
    fn precedence_not_and_or() {
        let c = parse_condition("selection and not filter_main or kw", &names()).unwrap();
        assert_eq!(
            c,
            Cond::Or(vec![
                Cond::And(vec![Cond::Sel(0), Cond::Not(Box::new(Cond::Sel(1)))]),
                Cond::Sel(4)
            ])
        );
    }

    #[test]
    fn of_forms() {
        assert_eq!(
            parse_condition("1 of filter_*", &names()).unwrap(),
            Cond::AnyOf(vec![1, 2])
        );
        assert_eq!(
            parse_condition("all of them", &names()).unwrap(),
            Cond::AllOf(vec![0, 1, 2, 4]),
            "them skips _ names"
        );
        assert_eq!(
            parse_condition("selection and not 1 of filter_*", &names()).unwrap(),
            Cond::And(vec![
                Cond::Sel(0),
                Cond::Not(Box::new(Cond::AnyOf(vec![1, 2])))
            ])
        );
        assert_eq!(
            parse_condition("(selection or kw) and not (filter_main)", &names()).unwrap(),
            Cond::And(vec![
                Cond::Or(vec![Cond::Sel(0), Cond::Sel(4)]),
                Cond::Not(Box::new(Cond::Sel(1)))
            ])
        );
    }

    #[test]
    fn errors_say_what() {
        assert!(matches!(
            parse_condition("selection and", &names()),
            Err(RuleError::Condition(_))
        ));
        assert!(matches!(
            parse_condition("nope", &names()),
            Err(RuleError::Condition(_))
        ));
        assert!(matches!(
            parse_condition("(selection", &names()),
            Err(RuleError::Condition(_))
        ));
        assert!(matches!(
            parse_condition("selection | count() > 5", &names()),
            Err(RuleError::Unsupported(_))
        ));
    }
}
