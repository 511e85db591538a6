//! The collector's HTTP API bodies as typed serde structs, shared by the
//! handlers, `tocsinctl`, the end-to-end tests and the web console.
