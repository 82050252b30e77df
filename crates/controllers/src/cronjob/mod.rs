//! CronJob (in progress).
