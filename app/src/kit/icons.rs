//! Line icons, drawn inline so they inherit the text colour and cost no request.

use leptos::prelude::*;

#[component]
fn Svg(children: Children) -> impl IntoView {
    view! {
        <svg
            class="icon"
            viewBox="0 0 24 24"
            width="24"
            height="24"
            fill="none"
            stroke="currentColor"
            stroke-width="1.8"
            stroke-linecap="round"
            stroke-linejoin="round"
            aria-hidden="true"
        >
            {children()}
        </svg>
    }
}

#[component]
pub fn Logo() -> impl IntoView {
    view! {
        <svg class="logo" viewBox="0 0 32 32" width="32" height="32" aria-hidden="true">
            <rect width="32" height="32" rx="8" fill="#0e5e56" />
            <path d="M8 11h16v10a2 2 0 0 1-2 2H10a2 2 0 0 1-2-2z" fill="#fff" />
            <path d="M8 11l8 6 8-6" fill="none" stroke="#f59e0b" stroke-width="2.2" stroke-linejoin="round" />
        </svg>
    }
}

#[component]
pub fn Inbox() -> impl IntoView {
    view! {
        <Svg>
            <path d="M4 13l2.5-7h11L20 13v5a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2z" />
            <path d="M4 13h4.5l1.5 2.5h4l1.5-2.5H20" />
        </Svg>
    }
}

#[component]
pub fn Contacts() -> impl IntoView {
    view! {
        <Svg>
            <rect x="4" y="3" width="16" height="18" rx="2" />
            <circle cx="12" cy="10" r="3" />
            <path d="M7.5 17.5c1-2 2.6-3 4.5-3s3.5 1 4.5 3" />
        </Svg>
    }
}

#[component]
pub fn Team() -> impl IntoView {
    view! {
        <Svg>
            <circle cx="9" cy="8" r="3.2" />
            <path d="M3 19c.8-3 3-4.6 6-4.6s5.2 1.6 6 4.6" />
            <circle cx="17" cy="9" r="2.4" />
            <path d="M16.5 14.4c2.2.2 3.8 1.6 4.5 4" />
        </Svg>
    }
}

#[component]
pub fn Settings() -> impl IntoView {
    view! {
        <Svg>
            <path d="M4 7h10M18 7h2M4 17h4M12 17h8" />
            <circle cx="16" cy="7" r="2" />
            <circle cx="10" cy="17" r="2" />
        </Svg>
    }
}

#[component]
pub fn Person() -> impl IntoView {
    view! {
        <Svg>
            <circle cx="12" cy="8" r="4" />
            <path d="M4.5 20c1.2-3.6 4-5.5 7.5-5.5s6.3 1.9 7.5 5.5" />
        </Svg>
    }
}

#[component]
pub fn Lock() -> impl IntoView {
    view! {
        <Svg>
            <rect x="5" y="10.5" width="14" height="10" rx="2" />
            <path d="M8 10.5V8a4 4 0 0 1 8 0v2.5" />
        </Svg>
    }
}

#[component]
pub fn Chat() -> impl IntoView {
    view! {
        <Svg>
            <path d="M5 18.5V6a2 2 0 0 1 2-2h10a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H8.5z" />
            <path d="M9 9h6M9 12h4" />
        </Svg>
    }
}
