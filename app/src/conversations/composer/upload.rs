//! A file on its way up from the composer: its name with the upload's progress, or why it was
//! refused or failed, which the agent dismisses.

use leptos::prelude::*;

use crate::i18n::*;

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Upload {
    pub name: String,
    /// From 0 to 1.
    pub progress: f64,
    pub error: Option<String>,
}

impl Upload {
    pub fn started(name: String) -> Self {
        Upload {
            name,
            progress: 0.0,
            error: None,
        }
    }

    pub fn failed(name: String, progress: f64, error: String) -> Self {
        Upload {
            name,
            progress,
            error: Some(error),
        }
    }
}

/// The upload line under the composer's notices, while there is one.
pub(super) fn upload_line(locale: Locale, upload: RwSignal<Option<Upload>>) -> impl IntoView {
    move || {
        upload.get().map(|u| {
            let percent = (u.progress * 100.0).round() as u32;
            let state = match u.error.clone() {
                Some(error) => view! {
                    <span class="form-error" role="alert">
                        {error}
                    </span>
                    <button type="button" class="link-button" on:click=move |_| upload.set(None)>
                        {td_string!(locale, inbox.dismiss)}
                    </button>
                }
                .into_any(),
                None => view! {
                    <progress
                        max="100"
                        value=percent.to_string()
                        aria-label=td_string!(locale, inbox.uploading)
                    ></progress>
                    <span class="upload-percent">{format!("{percent} %")}</span>
                }
                .into_any(),
            };
            view! {
                <div class="upload" class:failed=u.error.is_some()>
                    <span class="upload-name">{u.name.clone()}</span>
                    {state}
                </div>
            }
        })
    }
}
