//! The Vulkan loader (loaded at run time, never linked), the instance, and the validation layer's
//! message log.

use crate::error::{Check, unavailable};
use ash::vk;
use std::ffi::{CStr, c_void};
use std::sync::{Arc, Mutex};

/// The Khronos validation layer.
const VALIDATION_LAYER: &CStr = c"VK_LAYER_KHRONOS_validation";

/// Validation warnings and errors, in the order the layer reported them.
pub(crate) type MessageLog = Arc<Mutex<Vec<String>>>;

/// A loaded Vulkan loader and an instance created from it.
pub(crate) struct Instance {
    /// The loader's entry points (kept alive as long as the instance).
    pub entry: ash::Entry,
    /// The instance.
    pub raw: ash::Instance,
    debug: Option<(ash::ext::debug_utils::Instance, vk::DebugUtilsMessengerEXT)>,
    /// What the validation layer reported (empty without validation).
    pub messages: MessageLog,
    /// Keeps the log alive for the callback's user-data pointer until the messenger is gone.
    _callback_log: Option<Box<MessageLog>>,
}

// SAFETY: ash handles are plain handles plus function pointers; the instance is only destroyed in
// Drop, when no other reference exists.
unsafe impl Send for Instance {}
unsafe impl Sync for Instance {}

impl Instance {
    /// Loads the loader and creates an instance (Vulkan 1.1 or newer, at most 1.3), with the
    /// validation layer and a messenger that records warnings and errors when `validation` is set.
    pub fn new(validation: bool) -> edgehal::Result<Instance> {
        // SAFETY: loading the system's Vulkan loader runs its initialisers; that is what it is for.
        let entry = unsafe { ash::Entry::load() }.map_err(|e| unavailable(format!("no Vulkan loader: {e}")))?;
        // SAFETY: a plain query on a loaded entry.
        let loader_version = unsafe { entry.try_enumerate_instance_version() }
            .check("vkEnumerateInstanceVersion")?
            .unwrap_or(vk::API_VERSION_1_0);
        if loader_version < vk::API_VERSION_1_1 {
            return Err(unavailable(format!(
                "the Vulkan loader is version {}.{}, edgehal needs 1.1",
                vk::api_version_major(loader_version),
                vk::api_version_minor(loader_version)
            )));
        }
        let api_version = loader_version.min(vk::API_VERSION_1_3);
        // SAFETY: plain queries.
        let extensions = unsafe { entry.enumerate_instance_extension_properties(None) }
            .check("vkEnumerateInstanceExtensionProperties")?;
        let has_ext = |name: &CStr| extensions.iter().any(|e| e.extension_name_as_c_str() == Ok(name));
        let mut ext_names = Vec::new();
        let mut flags = vk::InstanceCreateFlags::empty();
        if has_ext(ash::khr::portability_enumeration::NAME) {
            ext_names.push(ash::khr::portability_enumeration::NAME.as_ptr());
            flags |= vk::InstanceCreateFlags::ENUMERATE_PORTABILITY_KHR;
        }
        let mut layers = Vec::new();
        if validation {
            // SAFETY: plain query.
            let available =
                unsafe { entry.enumerate_instance_layer_properties() }.check("vkEnumerateInstanceLayerProperties")?;
            if !available.iter().any(|l| l.layer_name_as_c_str() == Ok(VALIDATION_LAYER)) {
                return Err(unavailable("validation was asked for but VK_LAYER_KHRONOS_validation is not installed"));
            }
            if !has_ext(ash::ext::debug_utils::NAME) {
                return Err(unavailable("validation was asked for but VK_EXT_debug_utils is missing"));
            }
            layers.push(VALIDATION_LAYER.as_ptr());
            ext_names.push(ash::ext::debug_utils::NAME.as_ptr());
        }
        let messages: MessageLog = Arc::default();
        let callback_log = validation.then(|| Box::new(messages.clone()));
        let mut messenger_info = callback_log.as_ref().map(|log| messenger_create_info(log));
        let app = vk::ApplicationInfo::default()
            .application_name(c"edgehal")
            .engine_name(c"edgehal")
            .api_version(api_version);
        let mut info = vk::InstanceCreateInfo::default()
            .application_info(&app)
            .enabled_layer_names(&layers)
            .enabled_extension_names(&ext_names)
            .flags(flags);
        if let Some(m) = messenger_info.as_mut() {
            // Also catches messages from vkCreateInstance/vkDestroyInstance themselves.
            info = info.push_next(m);
        }
        // SAFETY: every pointer in `info` outlives the call.
        let raw = unsafe { entry.create_instance(&info, None) }
            .map_err(|e| unavailable(format!("vkCreateInstance failed: {e}")))?;
        let mut instance = Instance { entry, raw, debug: None, messages, _callback_log: None };
        if let (Some(log), Some(m)) = (callback_log, messenger_info) {
            let utils = ash::ext::debug_utils::Instance::new(&instance.entry, &instance.raw);
            // SAFETY: `log` is boxed and kept in the instance until after the messenger is destroyed.
            let messenger = unsafe { utils.create_debug_utils_messenger(&m, None) }
                .check("vkCreateDebugUtilsMessengerEXT")?;
            instance.debug = Some((utils, messenger));
            instance._callback_log = Some(log);
        }
        Ok(instance)
    }

    /// The messages the validation layer recorded so far.
    pub fn validation_messages(&self) -> Vec<String> {
        self.messages.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // SAFETY: the owner destroyed the device before; nothing else uses these handles.
        unsafe {
            if let Some((utils, messenger)) = self.debug.take() {
                utils.destroy_debug_utils_messenger(messenger, None);
            }
            self.raw.destroy_instance(None);
        }
    }
}

/// A messenger for warnings and errors of every type, logging into `log`.
fn messenger_create_info(log: &MessageLog) -> vk::DebugUtilsMessengerCreateInfoEXT<'static> {
    vk::DebugUtilsMessengerCreateInfoEXT::default()
        .message_severity(vk::DebugUtilsMessageSeverityFlagsEXT::WARNING | vk::DebugUtilsMessageSeverityFlagsEXT::ERROR)
        .message_type(
            vk::DebugUtilsMessageTypeFlagsEXT::GENERAL
                | vk::DebugUtilsMessageTypeFlagsEXT::VALIDATION
                | vk::DebugUtilsMessageTypeFlagsEXT::PERFORMANCE,
        )
        .pfn_user_callback(Some(on_message))
        .user_data(log as *const MessageLog as *mut c_void)
}

/// Records a validation message (never unwinds: it is called from the driver).
unsafe extern "system" fn on_message(
    severity: vk::DebugUtilsMessageSeverityFlagsEXT,
    _types: vk::DebugUtilsMessageTypeFlagsEXT,
    data: *const vk::DebugUtilsMessengerCallbackDataEXT<'_>,
    user: *mut c_void,
) -> vk::Bool32 {
    if user.is_null() || data.is_null() {
        return vk::FALSE;
    }
    // SAFETY: `user` is the `MessageLog` the messenger was created with (alive until it is
    // destroyed); `data` is valid for the duration of the callback.
    let (log, data) = unsafe { (&*(user as *const MessageLog), &*data) };
    // SAFETY: the layer passes a nul-terminated message or null.
    let message = unsafe { data.message_as_c_str() }.map(|m| m.to_string_lossy().into_owned()).unwrap_or_default();
    let level = if severity.contains(vk::DebugUtilsMessageSeverityFlagsEXT::ERROR) { "error" } else { "warning" };
    tracing::warn!(target: "edgehal_vulkan::validation", "{level}: {message}");
    if let Ok(mut log) = log.lock() {
        log.push(format!("{level}: {message}"));
    }
    vk::FALSE
}
