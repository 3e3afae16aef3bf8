-- Twilio's WhatsApp templates are sent by their content SID (Content API), not by name: the
-- provider's own id of a template, where it has one.
ALTER TABLE templates ADD COLUMN provider_template_id TEXT;
