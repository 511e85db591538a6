//! The Prometheus HTTP API envelopes (`/api/v1/query`, `query_range`,
//! `series`, `labels`, `label/{name}/values`, `status/buildinfo`).
//!
//! The collector writes the query results themselves as text (the sample
//! values and times have Prometheus' exact number formats); these structs
//! give the envelope around them a type, for the handlers and for readers
//! such as `tocsinctl`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Number;

/// A successful answer: `{"status":"success","data":…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromSuccess<T> {
    /// Always `success`.
    pub status: String,
    /// What was asked for.
    pub data: T,
}

impl<T> PromSuccess<T> {
    /// Wraps `data`.
    pub fn new(data: T) -> Self {
        Self {
            status: "success".to_string(),
            data,
        }
    }
}

/// An error answer: `{"status":"error","errorType":"bad_data","error":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromErrorBody {
    /// Always `error`.
    pub status: String,
    /// `bad_data`, `execution` or `internal`.
    #[serde(rename = "errorType")]
    pub error_type: String,
    /// A sentence naming the problem.
    pub error: String,
}

/// The `data` of a query answer: `{"resultType":"vector","result":[…]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryData<R> {
    /// `vector`, `matrix`, `scalar` or `string`.
    #[serde(rename = "resultType")]
    pub result_type: String,
    /// The result, shaped by `result_type`.
    pub result: R,
}

/// One series of a `vector` result: `{"metric":{…},"value":[t,"v"]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorSample {
    /// The series' labels.
    pub metric: BTreeMap<String, String>,
    /// Time in seconds (a JSON number, kept as sent: `1700000000` or
    /// `1700000030.5`) and the value as text.
    pub value: (Number, String),
}

/// One series of a `matrix` result: `{"metric":{…},"values":[[t,"v"],…]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixSeries {
    /// The series' labels.
    pub metric: BTreeMap<String, String>,
    /// Times in seconds and values as text.
    pub values: Vec<(Number, String)>,
}

/// `/api/v1/series`: one label set per series.
pub type SeriesAnswer = PromSuccess<Vec<BTreeMap<String, String>>>;

/// `/api/v1/labels` and `/api/v1/label/{name}/values`: sorted names or values.
pub type LabelsAnswer = PromSuccess<Vec<String>>;

/// `/api/v1/status/buildinfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildInfo {
    /// The Prometheus release whose API Tocsin follows.
    pub version: String,
    /// `tocsin-<version>`.
    pub revision: String,
    /// `tocsin`.
    pub branch: String,
    /// `tocsin`.
    pub build_user: String,
    /// Empty.
    pub build_date: String,
    /// Names the collector.
    pub go_version: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T>(text: &str)
    where
        T: Serialize + for<'de> Deserialize<'de>,
    {
        let parsed: T = serde_json::from_str(text).unwrap();
        let again: serde_json::Value = serde_json::to_value(&parsed).unwrap();
        let want: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(again, want, "{text}");
    }

    #[test]
    fn envelopes_round_trip() {
        round_trip::<PromSuccess<QueryData<Vec<VectorSample>>>>(
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"cpu","host":"a"},"value":[1700000030.5,"42"]}]}}"#,
        );
        round_trip::<PromSuccess<QueryData<Vec<MatrixSeries>>>>(
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1700000000,"9"],[1700000030,"9"]]}]}}"#,
        );
        round_trip::<PromSuccess<QueryData<(Number, String)>>>(
            r#"{"status":"success","data":{"resultType":"scalar","result":[4,"2"]}}"#,
        );
        round_trip::<PromErrorBody>(
            r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"end\""}"#,
        );
        round_trip::<SeriesAnswer>(
            r#"{"status":"success","data":[{"__name__":"cpu","host":"b"}]}"#,
        );
        round_trip::<LabelsAnswer>(r#"{"status":"success","data":["__name__","dc","host"]}"#);
        round_trip::<PromSuccess<BuildInfo>>(
            r#"{"status":"success","data":{"version":"2.45.0","revision":"tocsin-1","branch":"tocsin","buildUser":"tocsin","buildDate":"","goVersion":"none"}}"#,
        );
    }
}
