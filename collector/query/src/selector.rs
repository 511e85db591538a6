//! PromQL instant vector selectors: `metric`, `metric{a="b", c!~"x|y"}`,
//! `{__name__=~"node_.*"}`, and the label matchers they are made of.
//!
//! [`parse`] reads a selector alone (as in `match[]`); the [`Parser`] is
//! shared with [`super::expr`], which embeds selectors in arithmetic.
//! Unsupported syntax (functions, range vectors, modifiers, ...) is
//! rejected with a `line:col: parse error: ...` message in Prometheus'
//! format.

use std::fmt;

use super::QueryError;
use super::strlit::lex_string;

pub use tocsin_model::series::{METRIC_NAME, MatchOp, Matcher};

/// Which grammar a [`Parser`] reads; it decides the wording of errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// A selector alone ([`parse`], `match[]`).
    Selector,
    /// A query expression ([`super::expr::parse`]).
    Expr,
}

impl Mode {
    /// What the parser accepts, appended to errors about unsupported syntax.
    pub(super) fn supported(self) -> &'static str {
        match self {
            Mode::Selector => {
                "only instant vector selectors such as metric{label=\"value\"} are supported (no functions, operators, range vectors or modifiers)"
            }
            Mode::Expr => {
                "only instant vector selectors such as metric{label=\"value\"} and arithmetic on number literals such as 1+1 are supported (no functions, aggregations, range vectors, modifiers or operators on vectors)"
            }
        }
    }
}

/// Parses one instant vector selector into its matchers; the metric name, if
/// any, comes first as a `__name__` equality matcher.
pub fn parse(input: &str) -> Result<Vec<Matcher>, QueryError> {
    Parser::new(input, Mode::Selector).selector()
}

/// A cursor over the query text with the lexing helpers selectors and
/// expressions share.
pub(super) struct Parser<'a> {
    pub(super) src: &'a str,
    pub(super) pos: usize,
    mode: Mode,
}

pub(super) fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether `s` is a classic identifier, `[a-zA-Z_][a-zA-Z0-9_]*`, with `:`
/// also allowed anywhere when `colons` (metric names).
pub(super) fn is_name(s: &str, colons: bool) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| is_ident_start(c) || colons && c == ':')
        && chars.all(|c| is_ident_char(c) || colons && c == ':')
}

/// 1-based line and column (in characters) of byte `pos` of `src`.
pub(super) fn line_col(src: &str, pos: usize) -> (usize, usize) {
    let before = &src[..pos];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

impl<'a> Parser<'a> {
    pub(super) fn new(src: &'a str, mode: Mode) -> Self {
        Self { src, pos: 0, mode }
    }

    pub(super) fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    /// A `line:col: parse error: msg` error at byte `pos`.
    pub(super) fn error_at(&self, pos: usize, msg: impl fmt::Display) -> QueryError {
        let (line, col) = line_col(self.src, pos);
        QueryError::BadData(format!("{line}:{col}: parse error: {msg}"))
    }

    /// Skips whitespace and `#` comments.
    pub(super) fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if c == '#' {
                self.pos = self.src[self.pos..]
                    .find('\n')
                    .map_or(self.src.len(), |i| self.pos + i);
            } else if c.is_whitespace() {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
    }

    /// Reads `[a-zA-Z_][a-zA-Z0-9_]*`, plus `:` when `colons` (metric names).
    pub(super) fn ident(&mut self, colons: bool) -> Option<&'a str> {
        let start = self.pos;
        let first = self.peek()?;
        if !(is_ident_start(first) || colons && first == ':') {
            return None;
        }
        let len = self.src[start..]
            .find(|c: char| !(is_ident_char(c) || colons && c == ':'))
            .unwrap_or(self.src.len() - start);
        self.pos = start + len;
        Some(&self.src[start..self.pos])
    }

    fn string(&mut self) -> Result<String, QueryError> {
        let (value, end) =
            lex_string(self.src, self.pos).map_err(|(pos, msg)| self.error_at(pos, msg))?;
        self.pos = end;
        Ok(value)
    }

    /// The whole input as one selector.
    fn selector(mut self) -> Result<Vec<Matcher>, QueryError> {
        self.skip_ws();
        let Some(first) = self.peek() else {
            return Err(self.error_at(self.pos, "no expression found in input"));
        };
        if !(is_ident_start(first) || first == ':' || first == '{') {
            return Err(self.unexpected("at the start of the query"));
        }
        let matchers = self.selector_at()?;
        self.skip_ws();
        if self.pos < self.src.len() {
            return Err(self.unexpected("after the selector"));
        }
        Ok(matchers)
    }

    /// Parses the selector starting at the current position, which must be
    /// a metric name or `{`, and validates it; trailing input is left alone.
    pub(super) fn selector_at(&mut self) -> Result<Vec<Matcher>, QueryError> {
        let name_pos = self.pos;
        let metric = self.ident(true).map(str::to_string);
        if metric.is_none() && self.peek() != Some('{') {
            return Err(self.unexpected("where a selector was expected"));
        }
        self.skip_ws();
        let mut matchers = Vec::new();
        let mut braces = false;
        if self.peek() == Some('{') {
            braces = true;
            self.pos += 1;
            self.matchers(&mut matchers)?;
        }
        if let Some(name) = metric {
            if let Some(m) = matchers.iter().find(|m| m.name == METRIC_NAME) {
                let msg = format!(
                    "metric name must not be set twice: {name:?} or {:?}",
                    m.value
                );
                return Err(self.error_at(name_pos, msg));
            }
            matchers.insert(0, Matcher::new(METRIC_NAME, MatchOp::Equal, &name)?);
        }
        if matchers.is_empty() && braces {
            return Err(self.error_at(
                name_pos,
                "vector selector must contain label matchers or metric name",
            ));
        }
        if matchers.iter().all(|m| m.matches("")) {
            return Err(self.error_at(
                name_pos,
                "vector selector must contain at least one non-empty matcher",
            ));
        }
        Ok(matchers)
    }

    /// Parses the inside of `{...}`, the opening brace already consumed.
    fn matchers(&mut self, out: &mut Vec<Matcher>) -> Result<(), QueryError> {
        loop {
            self.skip_ws();
            match self.peek() {
                Some('}') => {
                    self.pos += 1;
                    return Ok(());
                }
                None => {
                    return Err(self.error_at(self.pos, "unexpected end of input inside braces"));
                }
                _ => {}
            }
            let item_pos = self.pos;
            let quoted = matches!(self.peek(), Some('"' | '\'' | '`'));
            let name = if quoted {
                self.string()?
            } else if let Some(name) = self.ident(false) {
                name.to_string()
            } else {
                return Err(self.unexpected("inside braces"));
            };
            self.skip_ws();
            let op = self.op();
            match op {
                // A bare quoted string names the metric: {"my.metric", job="x"}.
                None if quoted && matches!(self.peek(), Some(',' | '}')) => {
                    if out.iter().any(|m| m.name == METRIC_NAME) {
                        return Err(self.error_at(item_pos, "metric name must not be set twice"));
                    }
                    out.push(Matcher::new(METRIC_NAME, MatchOp::Equal, &name)?);
                }
                None => {
                    return Err(self.unexpected(&format!(
                        "after label name {name:?}; expected one of = != =~ !~"
                    )));
                }
                Some(op) => {
                    self.skip_ws();
                    if !matches!(self.peek(), Some('"' | '\'' | '`')) {
                        return Err(self.unexpected("where a quoted label value was expected"));
                    }
                    let value_pos = self.pos;
                    let value = self.string()?;
                    let m =
                        Matcher::new(&name, op, &value).map_err(|e| self.error_at(value_pos, e))?;
                    out.push(m);
                }
            }
            self.skip_ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some('}') => {}
                None => {
                    return Err(self.error_at(self.pos, "unexpected end of input inside braces"));
                }
                _ => return Err(self.unexpected("inside braces; expected \",\" or \"}\"")),
            }
        }
    }

    fn op(&mut self) -> Option<MatchOp> {
        let rest = &self.src[self.pos..];
        let (op, len) = if rest.starts_with("=~") {
            (MatchOp::Regex, 2)
        } else if rest.starts_with("!~") {
            (MatchOp::NotRegex, 2)
        } else if rest.starts_with("!=") {
            (MatchOp::NotEqual, 2)
        } else if rest.starts_with('=') && !rest.starts_with("==") {
            (MatchOp::Equal, 1)
        } else {
            return None;
        };
        self.pos += len;
        Some(op)
    }

    /// Error for the token at the current position, naming the unsupported
    /// construct when it is recognisable.
    pub(super) fn unexpected(&self, context: &str) -> QueryError {
        let rest = &self.src[self.pos..];
        let Some(c) = rest.chars().next() else {
            return self.error_at(self.pos, format!("unexpected end of input {context}"));
        };
        let expr = self.mode == Mode::Expr;
        let what = match c {
            '(' if !expr => "function calls and parentheses are not supported".to_string(),
            '[' => "range vectors and subqueries are not supported".to_string(),
            '@' => "@ modifiers are not supported".to_string(),
            '+' | '-' | '*' | '/' | '%' | '^' | '<' | '>' | '=' | '!' if expr => {
                match ["==", "!=", ">=", "<=", ">", "<"]
                    .into_iter()
                    .find(|op| rest.starts_with(op))
                {
                    Some(op) => format!(
                        "unexpected {op:?} {context}: comparison operators are not supported"
                    ),
                    None => format!("unexpected {:?} {context}", c.to_string()),
                }
            }
            '+' | '-' | '*' | '/' | '%' | '^' | '<' | '>' | '=' | '!' => {
                let op: String = rest
                    .chars()
                    .take_while(|c| "+-*/%^<>=!~".contains(*c))
                    .collect();
                format!("unexpected {op:?} {context}: operators are not supported")
            }
            '0'..='9' | '.' if expr => format!("unexpected number {context}"),
            '0'..='9' | '.' => {
                format!("unexpected number {context}: number literals are not supported")
            }
            '"' | '\'' | '`' if expr => format!("unexpected string {context}"),
            c if is_ident_start(c) => {
                let word: String = rest
                    .chars()
                    .take_while(|c| is_ident_char(*c) || *c == ':')
                    .collect();
                match word.as_str() {
                    "offset" => "offset modifiers are not supported".to_string(),
                    "by" | "without" | "on" | "ignoring" | "group_left" | "group_right" | "and"
                    | "or" | "unless" | "bool" | "atan2" => format!(
                        "unexpected keyword {word:?} {context}: aggregations and operators are not supported"
                    ),
                    _ => format!("unexpected identifier {word:?} {context}"),
                }
            }
            c => format!("unexpected character {c:?} {context}"),
        };
        self.error_at(self.pos, format_args!("{what}; {}", self.mode.supported()))
    }
}

#[cfg(test)]
#[path = "selector_tests.rs"]
mod tests;
