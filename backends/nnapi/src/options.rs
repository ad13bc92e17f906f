//! How the backend finds its library and device, and how it compiles and runs models.

use std::path::PathBuf;

/// `ANeuralNetworksCompilation_setPreference`'s choices.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Preference {
    /// `ANEURALNETWORKS_PREFER_LOW_POWER` (0): least power, may be slower.
    LowPower,
    /// `ANEURALNETWORKS_PREFER_FAST_SINGLE_ANSWER` (1): one answer as fast as possible.
    #[default]
    FastSingleAnswer,
    /// `ANEURALNETWORKS_PREFER_SUSTAINED_SPEED` (2): best throughput over successive runs.
    SustainedSpeed,
}

impl Preference {
    /// The `PreferenceCode` value.
    pub fn code(self) -> i32 {
        match self {
            Preference::LowPower => 0,
            Preference::FastSingleAnswer => 1,
            Preference::SustainedSpeed => 2,
        }
    }

    /// Parses `low-power`, `fast-single-answer` or `sustained-speed`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "low-power" => Some(Preference::LowPower),
            "fast-single-answer" => Some(Preference::FastSingleAnswer),
            "sustained-speed" => Some(Preference::SustainedSpeed),
            _ => None,
        }
    }
}

/// Options of [`crate::NnapiBackend`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NnapiOptions {
    /// The library to open; `None`: `libneuralnetworks.so` from the loader's search path.
    pub library: Option<PathBuf>,
    /// The device to compile for, by exact name (`ANeuralNetworksDevice_getName`); `None`: the
    /// first accelerator, else the first device that is not the CPU, else the first device.
    pub device: Option<String>,
    /// Compilation preference.
    pub preference: Preference,
    /// Where compilations are cached (`ANeuralNetworksCompilation_setCaching`); `None`: no cache.
    pub cache_dir: Option<PathBuf>,
    /// Run through an `ANeuralNetworksBurst` (lower latency for repeated runs) where available.
    pub burst: bool,
}

impl NnapiOptions {
    /// Options from the environment: `EDGEHAL_NNAPI_LIB` (library path), `EDGEHAL_NNAPI_DEVICE`
    /// (device name), `EDGEHAL_NNAPI_PREFERENCE` (`low-power`, `fast-single-answer`,
    /// `sustained-speed`; anything else is an error), `EDGEHAL_NNAPI_CACHE_DIR`,
    /// `EDGEHAL_NNAPI_BURST` (`1` to use bursts).
    pub fn from_env() -> edgehal::Result<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let preference = match var("EDGEHAL_NNAPI_PREFERENCE") {
            None => Preference::default(),
            Some(p) => Preference::parse(&p).ok_or_else(|| edgehal::Error::Unknown {
                kind: "NNAPI preference (EDGEHAL_NNAPI_PREFERENCE)",
                name: p,
                known: "low-power, fast-single-answer, sustained-speed".into(),
            })?,
        };
        Ok(NnapiOptions {
            library: var("EDGEHAL_NNAPI_LIB").map(PathBuf::from),
            device: var("EDGEHAL_NNAPI_DEVICE"),
            preference,
            cache_dir: var("EDGEHAL_NNAPI_CACHE_DIR").map(PathBuf::from),
            burst: var("EDGEHAL_NNAPI_BURST").is_some_and(|v| v == "1"),
        })
    }
}
