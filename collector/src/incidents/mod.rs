//! Incidents: opened from rule events, worked by people (being written).
