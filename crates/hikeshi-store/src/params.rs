//! A small builder for queries whose WHERE clause depends on the filter, numbering `$n`
//! placeholders as it goes (both engines accept them).

use sqlx::any::AnyArguments;
use sqlx::Arguments;

#[derive(Default)]
pub(crate) struct Params {
    args: AnyArguments,
    count: usize,
}

impl Params {
    /// Adds a value and returns its placeholder.
    pub fn text(&mut self, value: impl Into<String>) -> String {
        let value: String = value.into();
        // Adding a String to AnyArguments cannot fail; keep the error path anyway.
        let _ = self.args.add(value);
        self.count += 1;
        format!("${}", self.count)
    }

    pub fn int(&mut self, value: i64) -> String {
        let _ = self.args.add(value);
        self.count += 1;
        format!("${}", self.count)
    }

    pub fn into_args(self) -> AnyArguments {
        self.args
    }
}
