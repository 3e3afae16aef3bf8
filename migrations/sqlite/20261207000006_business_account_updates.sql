-- The WhatsApp Business Account a line belongs to: its templates' and standing's webhooks name
-- only the business account, and are routed to its lines by this.
ALTER TABLE accounts ADD COLUMN business_id TEXT;
UPDATE accounts SET business_id = json_extract(config, '$.business_id') WHERE channel = 'whatsapp';
CREATE INDEX accounts_business ON accounts (business_id);

-- A line's standing with Meta as its latest webhooks told it (restrictions with their end,
-- a violation, a ban, a disconnection, the number's quality and messaging limit), as JSON.
ALTER TABLE accounts ADD COLUMN standing TEXT NOT NULL DEFAULT '{}';

-- A template's quality (GREEN, YELLOW, RED), why its status is what it is (a rejection's
-- reason, a pause's notice), and a category change Meta announced for later.
ALTER TABLE templates ADD COLUMN quality TEXT;
ALTER TABLE templates ADD COLUMN status_reason TEXT;
ALTER TABLE templates ADD COLUMN next_category TEXT;
ALTER TABLE templates ADD COLUMN next_category_at BIGINT;

-- The customer stopped marketing messages from the business (null: they take them).
ALTER TABLE conversations ADD COLUMN marketing_stopped_at BIGINT;
-- When the customer's latest marketing preference was given (a late delivery of an older one
-- changes nothing).
ALTER TABLE conversations ADD COLUMN marketing_changed_at BIGINT;
ALTER TABLE contacts ADD COLUMN marketing_stopped_at BIGINT;
