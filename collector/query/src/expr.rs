//! PromQL expressions as far as Tocsin reads them: instant vector selectors,
//! number literals (`1`, `.5`, `1e3`, `0x1f`, `Inf`, `NaN`), parentheses,
//! unary `+`/`-` and the arithmetic operators `+ - * / % ^`, with PromQL's
//! precedence and associativity:
//!
//! | binds  | operators      | associativity |
//! |--------|----------------|---------------|
//! | tighter| `^`            | right         |
//! |        | unary `+ -`    |               |
//! |        | `* / %`        | left          |
//! | looser | `+ -`          | left          |
//!
//! so `-2^2` is `-(2^2)` and `2^3^2` is `2^(3^2)`, as in Prometheus.
//!
//! [`parse`] accepts operators between any operands, as PromQL's grammar
//! does; [`Expr::plan`] then accepts a selector alone or arithmetic on
//! numbers, and rejects operators applied to vectors.

use std::fmt;

use super::QueryError;
use super::number::{format_literal, lex_number, starts_number};
use super::selector::{self, METRIC_NAME, MatchOp, Matcher, Mode, Parser, is_ident_start};

/// An arithmetic operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%` (remainder with the sign of the dividend, Go's `math.Mod`)
    Mod,
    /// `^` (power, Go's `math.Pow`)
    Pow,
}

impl ArithOp {
    fn from_char(c: char) -> Option<Self> {
        Some(match c {
            '+' => ArithOp::Add,
            '-' => ArithOp::Sub,
            '*' => ArithOp::Mul,
            '/' => ArithOp::Div,
            '%' => ArithOp::Mod,
            '^' => ArithOp::Pow,
            _ => return None,
        })
    }

    /// The operator as written in PromQL.
    pub fn as_str(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
            ArithOp::Mod => "%",
            ArithOp::Pow => "^",
        }
    }

    /// Binding strength as a binary operator; unary signs bind like
    /// [`UNARY`].
    fn precedence(self) -> u8 {
        match self {
            ArithOp::Add | ArithOp::Sub => 1,
            ArithOp::Mul | ArithOp::Div | ArithOp::Mod => 2,
            ArithOp::Pow => 3,
        }
    }

    /// Applies the operator to two scalars with IEEE 754 semantics
    /// (`1/0` is `+Inf`, `0/0` is `NaN`), as Prometheus does.
    pub fn apply(self, a: f64, b: f64) -> f64 {
        match self {
            ArithOp::Add => a + b,
            ArithOp::Sub => a - b,
            ArithOp::Mul => a * b,
            ArithOp::Div => a / b,
            ArithOp::Mod => a % b,
            ArithOp::Pow => a.powf(b),
        }
    }
}

impl fmt::Display for ArithOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The operand of a unary sign is parsed with this minimum precedence, so
/// that only `^` binds tighter (PromQL gives unary operators `*`'s
/// precedence).
const UNARY: u8 = 3;

/// Limit on operators and parentheses in one query, which bounds the
/// recursion depth of parsing, evaluation and dropping.
pub const MAX_NODES: usize = 1000;

/// Where an operator was written, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A parsed query expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A number literal; a sign written directly before it is folded in
    /// (`-1`), as in Prometheus.
    Number(f64),
    /// An instant vector selector.
    Selector(Vec<Matcher>),
    /// `( expr )`
    Paren(Box<Expr>),
    /// `+expr` or `-expr` (`op` is `Add` or `Sub`).
    Unary {
        /// The sign.
        op: ArithOp,
        /// The operand.
        expr: Box<Expr>,
        /// Where the sign is.
        pos: Pos,
    },
    /// `lhs op rhs`
    Binary {
        /// The operator.
        op: ArithOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
        /// Where the operator is.
        pos: Pos,
    },
}

/// What evaluating an [`Expr`] takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Plan<'a> {
    /// Select series from storage.
    Vector(&'a [Matcher]),
    /// A constant, already computed.
    Scalar(f64),
}

impl Expr {
    /// Checks that Tocsin can evaluate the expression, computing it when it
    /// is scalar arithmetic. Operators applied to a vector are rejected with
    /// `BadData` naming the first such operator.
    pub fn plan(&self) -> Result<Plan<'_>, QueryError> {
        match self {
            Expr::Number(v) => Ok(Plan::Scalar(*v)),
            Expr::Selector(matchers) => Ok(Plan::Vector(matchers)),
            Expr::Paren(inner) => inner.plan(),
            Expr::Unary { op, expr, pos } => match expr.plan()? {
                Plan::Scalar(v) if *op == ArithOp::Sub => Ok(Plan::Scalar(-v)),
                Plan::Scalar(v) => Ok(Plan::Scalar(v)),
                Plan::Vector(_) => Err(on_vector(*pos, "unary operator", *op)),
            },
            Expr::Binary { op, lhs, rhs, pos } => match (lhs.plan()?, rhs.plan()?) {
                (Plan::Scalar(a), Plan::Scalar(b)) => Ok(Plan::Scalar(op.apply(a, b))),
                _ => Err(on_vector(*pos, "operator", *op)),
            },
        }
    }
}

fn on_vector(pos: Pos, what: &str, op: ArithOp) -> QueryError {
    QueryError::BadData(format!(
        "{pos}: {what} {:?} on a vector selector is not supported; {}",
        op.as_str(),
        Mode::Expr.supported()
    ))
}

/// Prints the expression as PromQL, the way Prometheus' `String()` does:
/// operators spaced, parentheses as written, selector matchers sorted.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Number(v) => f.write_str(&format_literal(*v)),
            Expr::Selector(matchers) => write_selector(f, matchers),
            Expr::Paren(inner) => write!(f, "({inner})"),
            Expr::Unary { op, expr, .. } => write!(f, "{op}{expr}"),
            Expr::Binary { op, lhs, rhs, .. } => write!(f, "{lhs} {op} {rhs}"),
        }
    }
}

fn write_selector(f: &mut fmt::Formatter<'_>, matchers: &[Matcher]) -> fmt::Result {
    let mut rest = matchers;
    if let Some((first, tail)) = matchers.split_first()
        && first.name == METRIC_NAME
        && first.op == MatchOp::Equal
        && selector::is_name(&first.value, true)
    {
        f.write_str(&first.value)?;
        rest = tail;
    }
    if rest.is_empty() {
        return Ok(());
    }
    let mut strings: Vec<String> = rest
        .iter()
        .map(|m| {
            let name = if selector::is_name(&m.name, false) {
                m.name.clone()
            } else {
                format!("{:?}", m.name)
            };
            format!("{name}{}{:?}", m.op.as_str(), m.value)
        })
        .collect();
    strings.sort();
    write!(f, "{{{}}}", strings.join(","))
}

/// Parses a query expression (syntax only; see [`Expr::plan`]).
pub fn parse(input: &str) -> Result<Expr, QueryError> {
    let mut p = ExprParser {
        p: Parser::new(input, Mode::Expr),
        nodes: 0,
    };
    p.p.skip_ws();
    if p.p.peek().is_none() {
        return Err(p.p.error_at(p.p.pos, "no expression found in input"));
    }
    let expr = p.expr(0)?;
    p.p.skip_ws();
    if p.p.peek().is_some() {
        return Err(p.p.unexpected("after the expression"));
    }
    Ok(expr)
}

/// Precedence climbing over the shared selector [`Parser`].
struct ExprParser<'a> {
    p: Parser<'a>,
    /// Operators and parentheses read so far (bounded by [`MAX_NODES`]).
    nodes: usize,
}

impl ExprParser<'_> {
    fn pos(&self, at: usize) -> Pos {
        let (line, col) = selector::line_col(self.p.src, at);
        Pos { line, col }
    }

    /// Counts one operator or parenthesis at byte `at`.
    fn count(&mut self, at: usize) -> Result<(), QueryError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            let msg =
                format!("expression too complex: more than {MAX_NODES} operators and parentheses");
            return Err(self.p.error_at(at, msg));
        }
        Ok(())
    }

    /// An operand followed by binary operators of at least `min` precedence.
    fn expr(&mut self, min: u8) -> Result<Expr, QueryError> {
        let mut lhs = self.operand()?;
        loop {
            self.p.skip_ws();
            let at = self.p.pos;
            let Some(op) = self.p.peek().and_then(ArithOp::from_char) else {
                return Ok(lhs);
            };
            let prec = op.precedence();
            if prec < min {
                return Ok(lhs);
            }
            self.count(at)?;
            self.p.pos += 1;
            // Left-associative operators take only tighter ones on their
            // right; `^` (right-associative) also takes another `^`.
            let next = if op == ArithOp::Pow { prec } else { prec + 1 };
            let rhs = self.expr(next)?;
            lhs = Expr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                pos: self.pos(at),
            };
        }
    }

    /// A number, selector, parenthesised expression or signed operand.
    fn operand(&mut self) -> Result<Expr, QueryError> {
        const EXPECTED: &str = "where a number, selector or \"(\" was expected";
        self.p.skip_ws();
        let start = self.p.pos;
        let Some(c) = self.p.peek() else {
            return Err(self.p.unexpected(EXPECTED));
        };
        match c {
            '(' => {
                self.count(start)?;
                self.p.pos += 1;
                let inner = self.expr(0)?;
                self.p.skip_ws();
                match self.p.peek() {
                    Some(')') => {
                        self.p.pos += 1;
                        Ok(Expr::Paren(Box::new(inner)))
                    }
                    None => Err(self.p.error_at(start, "unclosed left parenthesis")),
                    Some(_) => Err(self
                        .p
                        .unexpected("inside parentheses; expected an operator or \")\"")),
                }
            }
            '+' | '-' => {
                self.count(start)?;
                self.p.pos += 1;
                let op = if c == '-' { ArithOp::Sub } else { ArithOp::Add };
                Ok(match self.expr(UNARY)? {
                    Expr::Number(v) if op == ArithOp::Sub => Expr::Number(-v),
                    Expr::Number(v) => Expr::Number(v),
                    expr => Expr::Unary {
                        op,
                        expr: Box::new(expr),
                        pos: self.pos(start),
                    },
                })
            }
            _ if starts_number(self.p.src, start) => {
                let (v, end) =
                    lex_number(self.p.src, start).map_err(|(at, msg)| self.p.error_at(at, msg))?;
                self.p.pos = end;
                Ok(Expr::Number(v))
            }
            '{' => Ok(Expr::Selector(self.p.selector_at()?)),
            c if is_ident_start(c) || c == ':' => self.word(start),
            _ => Err(self.p.unexpected(EXPECTED)),
        }
    }

    /// `Inf`/`NaN` (any case), a rejected function call, or a selector.
    fn word(&mut self, start: usize) -> Result<Expr, QueryError> {
        let word = self.p.ident(true).unwrap_or_default();
        match word.to_ascii_lowercase().as_str() {
            "inf" => return Ok(Expr::Number(f64::INFINITY)),
            "nan" => return Ok(Expr::Number(f64::NAN)),
            _ => {}
        }
        self.p.skip_ws();
        if self.p.peek() == Some('(') {
            let msg = format!(
                "unexpected \"(\" after {word:?}: function calls and aggregations are not supported; {}",
                Mode::Expr.supported()
            );
            return Err(self.p.error_at(self.p.pos, msg));
        }
        self.p.pos = start;
        Ok(Expr::Selector(self.p.selector_at()?))
    }
}

#[cfg(test)]
#[path = "expr_tests.rs"]
mod tests;
