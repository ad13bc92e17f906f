//! edgehal's native Vulkan backend.
mod modules;
