// The risk classifier: the labelling criteria of CLASSIFICATION.md, name styles, annotations as hints, negations.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyTool, nameWords, type Category, type ClassifiableTool } from '../../src/catalog/classify.js';
import { assertCategories } from './classify-cases.js';

const sql = { type: 'object', properties: { sql: { type: 'string' } }, required: ['sql'] };
const money = { type: 'object', properties: { amount: { type: 'integer' }, currency: { type: 'string' } } };

// [tool, expected category] — the criteria's own examples first, then general cases of each category.
const CASES: [ClassifiableTool, Category][] = [
  // CLASSIFICATION.md examples
  [{ name: 'browser_close', description: 'Close the current browser tab.' }, 'Write'],
  [{ name: 'browser_tab_close', description: 'Closes a tab by index.' }, 'Write'],
  [{ name: 'cancel_run', description: 'Cancel a running workflow run.' }, 'Write'],
  [{ name: 'stop_trace', description: 'Stops the performance trace.' }, 'Write'],
  [{ name: 'select', description: 'Run a SELECT statement.', inputSchema: sql }, 'Execute'],
  [{ name: 'select_rows', inputSchema: { properties: { query: { type: 'string', description: 'SQL to run' } } } }, 'Execute'],
  [{ name: 'query_funnels', description: 'Run a funnels query over product events.', inputSchema: { properties: { events: { type: 'array' } } } }, 'Read'],
  [{ name: 'run_funnel_query', description: 'Computes a funnel for the given steps.' }, 'Read'],
  [{ name: 'search_docs', description: 'Search the documentation.' }, 'Read'],
  [{ name: 'create_invoice', description: 'Create a draft invoice for a customer.' }, 'Financial'],
  [{ name: 'send_invoice', description: 'Sends an invoice to the customer by email.' }, 'Financial'],
  [{ name: 'finalizeInvoice' }, 'Financial'],
  [{ name: 'list_invoices', description: 'List invoices for a customer.' }, 'Read'],
  [{ name: 'get_refund', description: 'Retrieve a refund by id.' }, 'Read'],
  [{ name: 'get_balance', description: 'Show the account balance.' }, 'Read'],
  [{ name: 'revoke_token', description: 'Revoke an API token.' }, 'Destructive'],
  [{ name: 'uninstall_app' }, 'Destructive'],
  [{ name: 'terminate_instance', description: 'Terminates an EC2 instance.' }, 'Destructive'],
  [{ name: 'browser_navigate', description: 'Navigate to a URL.' }, 'Write'],
  [{ name: 'browser_click', description: 'Click an element on the page.' }, 'Write'],
  [{ name: 'browser_type', description: 'Type text into an editable element.' }, 'Write'],
  [{ name: 'trigger_workflow', description: 'Trigger a GitHub Actions workflow.' }, 'Execute'],
  [{ name: 'call_aws', description: 'Call any AWS CLI command.' }, 'Execute'],
  [{ name: 'make_api_request', inputSchema: { properties: { url: { type: 'string' }, method: { type: 'string' } } } }, 'Execute'],
  [{ name: 'start_recording', description: 'Start a screen recording.' }, 'Write'],
  [{ name: 'create_subscription', description: 'Subscribe a customer to a plan.' }, 'Financial'],
  [{ name: 'cancel_subscription' }, 'Financial'],
  [{ name: 'create_payment_link' }, 'Financial'],
  [{ name: 'generate_code', description: 'Generate a code snippet and return it.' }, 'Read'],
  // Financial
  [{ name: 'refund_payment' }, 'Financial'],
  [{ name: 'pay_order' }, 'Financial'],
  [{ name: 'purchase_domain' }, 'Financial'],
  [{ name: 'send', description: 'Send funds to a wallet address.', inputSchema: money }, 'Financial'],
  [{ name: 'transfer', inputSchema: money }, 'Financial'],
  [{ name: 'list_charges', inputSchema: money }, 'Read'],
  [{ name: 'process', description: 'Charges the customer card.' }, 'Financial'],
  [{ name: 'orden', description: 'Pagar la factura pendiente.' }, 'Financial'],
  // Destructive
  [{ name: 'delete_assistant' }, 'Destructive'],
  [{ name: 'remove_member' }, 'Destructive'],
  [{ name: 'purge_cache' }, 'Destructive'],
  [{ name: 'wipe_device' }, 'Destructive'],
  [{ name: 'clear_history' }, 'Destructive'],
  [{ name: 'truncate_table' }, 'Destructive'],
  [{ name: 'docker_prune' }, 'Destructive'],
  [{ name: 'sign_out' }, 'Destructive'],
  [{ name: 'session', description: 'Logs out the current user.' }, 'Destructive'],
  [{ name: 'archive_cleanup', description: 'This action cannot be undone.' }, 'Destructive'],
  [{ name: 'fichier', description: 'Supprime le fichier donné.' }, 'Destructive'],
  [{ name: 'datei', description: 'Datei dauerhaft löschen.' }, 'Destructive'],
  [{ name: 'manage_issue', inputSchema: { properties: { action: { type: 'string', enum: ['get', 'update', 'delete'] } } } }, 'Destructive'],
  // Execute
  [{ name: 'run_command', inputSchema: { properties: { command: { type: 'string' } } } }, 'Execute'],
  [{ name: 'terminal', inputSchema: { properties: { cmd: { type: 'string' } } } }, 'Execute'],
  [{ name: 'evaluate', description: 'Evaluate JavaScript in the page.' }, 'Execute'],
  [{ name: 'python', inputSchema: { properties: { code: { type: 'string', description: 'Python code to execute' } } } }, 'Execute'],
  [{ name: 'deploy_service' }, 'Execute'],
  [{ name: 'invoke_lambda' }, 'Execute'],
  [{ name: 'runPipeline' }, 'Execute'],
  [{ name: 'tool', description: 'Executes a shell command on the host.' }, 'Execute'],
  // Write
  [{ name: 'create_issue' }, 'Write'],
  [{ name: 'updateUser' }, 'Write'],
  [{ name: 'send_message', description: 'Send a Slack message.' }, 'Write'],
  [{ name: 'add_comment' }, 'Write'],
  [{ name: 'upload_file' }, 'Write'],
  [{ name: 'rename_branch' }, 'Write'],
  [{ name: 'merge_pull_request' }, 'Write'],
  [{ name: 'fork_repository' }, 'Write'],
  [{ name: 'star_repo' }, 'Write'],
  [{ name: 'move_file' }, 'Write'],
  [{ name: 'crear', description: 'Crea un nuevo documento.' }, 'Write'],
  // Read
  [{ name: 'list_calls' }, 'Read'],
  [{ name: 'get_run', description: 'Get the status of a run.' }, 'Read'],
  [{ name: 'describeTable' }, 'Read'],
  [{ name: 'fetch', description: 'Fetches a URL and returns its content as markdown.' }, 'Read'],
  [{ name: 'list_deleted_items', description: 'Lists items in the trash.' }, 'Read'],
  [{ name: 'validate_config', description: 'Checks the config and suggests fixes.' }, 'Read'],
];

const orders = { type: 'object', properties: { symbol: { type: 'string' }, side: { type: 'string', enum: ['buy', 'sell'] }, leverage: { type: 'number' } } };
const withAction = (values: string[]) => ({ type: 'object', properties: { action: { type: 'string', enum: values } } });

// General rules found on a third set of servers (its DEV half): data titles, parameter lists, adverbs, agents given
// a task, switches with a prefix, query languages, and more state-changing verbs.
const MORE_CASES: [ClassifiableTool, Category][] = [
  [{ name: 'liquidations', description: 'Liquidation data. Filter by symbol and leverage.', inputSchema: orders }, 'Read'],
  [{ name: 'futures_order', description: 'Places a futures order.', inputSchema: orders }, 'Financial'],
  [{ name: 'market_feed', description: 'Aggregated funding rate history.' }, 'Read'],
  [{ name: 'depth', description: 'Order book depth.', inputSchema: withAction(['trade_data', 'order_history', 'depth']) }, 'Read'],
  [{ name: 'trades', inputSchema: withAction(['list', 'trade']) }, 'Financial'],
  [{ name: 'info_api', description: 'Generic info endpoint. Requires: type, user. Returns JSON.' }, 'Read'],
  [{ name: 'browser_task', description: 'Uses a cloud browser to autonomously execute multi-step tasks.' }, 'Execute'],
  [{ name: 'research_agent', description: 'A browser agent for web research.', inputSchema: { type: 'object', properties: { task: { type: 'string' } } } }, 'Execute'],
  [{ name: 'create_todo', description: 'Creates a todo item.', inputSchema: { type: 'object', properties: { task: { type: 'string' } } } }, 'Write'],
  [{ name: 'create_run', description: 'Create a new run.', inputSchema: { type: 'object', properties: { is_destroy: { type: 'boolean' } } } }, 'Destructive'],
  [{ name: 'save_record', inputSchema: { type: 'object', properties: { hard_delete: { type: 'boolean' } } } }, 'Destructive'],
  [{ name: 'allocate_device', description: 'Reserve a device for exclusive use.' }, 'Write'],
  [{ name: 'skip_week', description: 'Skip a delivery week.' }, 'Write'],
  [{ name: 'reopen_ticket' }, 'Write'],
  [{ name: 'run_query', description: 'Execute a PromQL query against the server.' }, 'Execute'],
  [{ name: 'instant_query', description: 'Runs a query.', inputSchema: { type: 'object', properties: { query: { type: 'string', description: 'The KQL query' } } } }, 'Execute'],
  [{ name: 'get_open_interest', description: 'Open interest for a symbol.' }, 'Read'],
  [{ name: 'open_interest_history' }, 'Read'],
];

test(`${MORE_CASES.length} cases of the general rules found on the third set`, () => {
  assertCategories(MORE_CASES);
});

test(`${CASES.length} labelled tools get the category CLASSIFICATION.md gives them`, () => {
  assert.ok(CASES.length >= 60);
  assertCategories(CASES);
});

test('the reference tool vapi_logout is Destructive / Critical, citing "logout" and "clear stored credentials"', () => {
  const result = classifyTool({
    name: 'vapi_logout',
    description: 'Log out of Vapi and clear stored credentials. Use this if your auth token is stale or you want to switch accounts.',
    inputSchema: { type: 'object', properties: {}, required: [] },
  });
  assert.equal(result.category, 'Destructive');
  assert.equal(result.risk, 'Critical');
  assert.ok(result.evidence.includes('name verb "logout"'), result.evidence.join(' | '));
  assert.ok(result.evidence.includes('description: "clear stored credentials"'), result.evidence.join(' | '));
  assert.ok(result.confidence > 0.8 && result.confidence <= 1);
});

test('names split in every style', () => {
  assert.deepEqual(nameWords('vapi_logout'), ['vapi', 'logout']);
  assert.deepEqual(nameWords('deleteRepo'), ['delete', 'repo']);
  assert.deepEqual(nameWords('git-push'), ['git', 'push']);
  assert.deepEqual(nameWords('DropTable'), ['drop', 'table']);
  assert.deepEqual(nameWords('tools.delete'), ['tools', 'delete']);
  assert.deepEqual(nameWords('HTTPGet'), ['http', 'get']);
  for (const name of ['deleteRepo', 'DropTable', 'tools.delete', 'repo-remove']) assert.equal(classifyTool({ name }).category, 'Destructive', name);
  assert.equal(classifyTool({ name: 'git-push' }).category, 'Write');
  assert.equal(classifyTool({ name: 'HTTPGet' }).category, 'Read');
});

test('annotations are hints: readOnlyHint does not hide a delete; destructiveHint raises the risk; readOnlyHint false means Write', () => {
  const claimed = classifyTool({ name: 'delete_file', annotations: { readOnlyHint: true } });
  assert.equal(claimed.category, 'Destructive');
  assert.ok(claimed.evidence.some((e) => e.includes('readOnlyHint: true')));
  assert.ok(claimed.confidence < classifyTool({ name: 'delete_file' }).confidence);

  // destructiveHint: "may perform destructive updates" (servers set it on edits too): Write at least, risk raised.
  const raised = classifyTool({ name: 'update_record', annotations: { destructiveHint: true } });
  assert.equal(raised.category, 'Write');
  assert.equal(raised.risk, 'High');
  assert.ok(raised.evidence.includes('annotation destructiveHint: true'));
  assert.equal(classifyTool({ name: 'widget', annotations: { readOnlyHint: true, destructiveHint: true } }).category, 'Write');

  assert.equal(classifyTool({ name: 'widget', annotations: { readOnlyHint: false } }).category, 'Write');
  assert.equal(classifyTool({ name: 'delete_file', annotations: { destructiveHint: false } }).category, 'Destructive');
  const read = classifyTool({ name: 'get_widget', annotations: { readOnlyHint: true } });
  assert.equal(read.category, 'Read');
  assert.ok(read.confidence > classifyTool({ name: 'get_widget' }).confidence);
});

test('negated verbs and situation clauses in descriptions do not count', () => {
  for (const description of [
    'Lists files. Does not delete or modify anything.',
    'Shows the diff without deleting the branch.',
    'Returns the record; it never removes data.',
    'Use this if the previous deploy was deleted or you want to check the status.',
  ]) {
    assert.equal(classifyTool({ name: 'inspect', description }).category, 'Read', description);
  }
  assert.equal(classifyTool({ name: 'inspect', description: 'Does not archive, but deletes the branch.' }).category, 'Destructive');
});

test('the most dangerous signal wins: Financial > Destructive > Execute > Write > Read', () => {
  const order: [ClassifiableTool, Category][] = [
    [{ name: 'delete_invoice' }, 'Financial'],
    [{ name: 'run_cleanup', description: 'Deletes temporary files.' }, 'Destructive'],
    [{ name: 'create_job', description: 'Creates and triggers a build pipeline.' }, 'Execute'],
    [{ name: 'get_note', description: 'Gets a note and marks it as read.', annotations: { readOnlyHint: false } }, 'Write'],
    [{ name: 'get_note' }, 'Read'],
  ];
  for (const [tool, expected] of order) assert.equal(classifyTool(tool).category, expected, tool.name);
});

test('risk follows the category, and a confirm/force parameter raises it, never lowers it', () => {
  assert.equal(classifyTool({ name: 'list_users' }).risk, 'Low');
  assert.equal(classifyTool({ name: 'create_user' }).risk, 'Medium');
  assert.equal(classifyTool({ name: 'run_command', inputSchema: { properties: { command: { type: 'string' } } } }).risk, 'High');
  assert.equal(classifyTool({ name: 'pay_invoice' }).risk, 'Critical');
  const forced = classifyTool({ name: 'update_branch', inputSchema: { properties: { force: { type: 'boolean' } } } });
  assert.equal(forced.category, 'Write');
  assert.equal(forced.risk, 'High');
  assert.ok(forced.evidence.some((e) => e.includes('"force"')));
  assert.equal(classifyTool({ name: 'delete_repo', inputSchema: { properties: { confirm: { type: 'boolean' } }, required: ['confirm'] } }).risk, 'Critical');
});

test('evidence quotes what decided, and Read says nothing else fired', () => {
  assert.deepEqual(classifyTool({ name: 'charge', inputSchema: money }).evidence, ['name verb "charge"', 'parameter "amount" with "currency"']);
  assert.match(classifyTool({ name: 'list_users' }).evidence[0]!, /no write, execute, destructive or financial signal/);
  assert.deepEqual(classifyTool({ name: 'x', description: 'Permanently deletes the workspace.' }).evidence, ['description: "deletes the workspace"']);
});

const str = { type: 'string' };

test('the lead sentence says what a tool does; later usage guidance does not, unless it marks an irreversible effect', () => {
  assertCategories([
    [{ name: 'inventory', description: 'Returns stock levels per warehouse. Set includeEmpty to add empty bins. Update your cache after calling.' }, 'Read'],
    [{ name: 'notes.lookup', description: 'Finds a note by title.\n\nAfterwards create a task or send a reminder with the other tools.' }, 'Read'],
    [{ name: 'widgetTool', description: '🎯 Purpose:\n1. Deletes widgets that are no longer used.' }, 'Destructive'],
    [{ name: 'workspace', description: 'Call this tool when you are done. Removes the temporary workspace.' }, 'Destructive'],
    [{ name: 'ProjectArchive', description: 'Archives a project. Archived projects are permanently deleted after 30 days.' }, 'Destructive'],
    [{ name: 'metrics', description: 'Returns metrics between the start and end dates.' }, 'Read'],
    [{ name: 'catalog', description: 'Browse plugins. Triggers: fired on install.' }, 'Read'],
  ]);
});

test('a name whose verb reads stays Read against write words in the description, except a write done as well', () => {
  assertCategories([
    [{ name: 'crawlSite', description: 'Start a crawl of the site and poll until it completes.' }, 'Read'],
    [{ name: 'getUploadUrl', description: 'Get a presigned URL to upload a file to.' }, 'Read'],
    [{ name: 'list-events', description: 'Lists events, including comments, reviews, and updates on tickets.' }, 'Read'],
    [{ name: 'read_message', description: 'Reads a message and marks it as seen.' }, 'Write'],
    [{ name: 'get_or_create_tag' }, 'Write'],
    [{ name: 'settings', description: 'List, get, or set workspace settings.' }, 'Write'],
    [{ name: 'items', description: 'Add/update/delete items in a list.' }, 'Destructive'],
  ]);
  // Annotations do not overrule a reading name, but still raise the risk.
  const hinted = classifyTool({ name: 'search_catalog', annotations: { readOnlyHint: false, destructiveHint: true } });
  assert.equal(hinted.category, 'Read');
  assert.equal(hinted.risk, 'High');
});

test('the primary verb of a name: nouns that are verbs too yield to a plain verb, "start" to the activity, compounds', () => {
  assertCategories([
    [{ name: 'tag_list' }, 'Read'],
    [{ name: 'status-update' }, 'Write'],
    [{ name: 'startScan' }, 'Read'],
    [{ name: 'start_server' }, 'Write'],
    [{ name: 'dry-run-deploy' }, 'Read'],
    [{ name: 'evaluate_model' }, 'Read'],
    [{ name: 'eval' }, 'Execute'],
    [{ name: 'resolveThread' }, 'Write'],
    [{ name: 'resolve_hostname' }, 'Read'],
    [{ name: 'show_toast' }, 'Write'],
    [{ name: 'convert_currency', inputSchema: { properties: { amount: { type: 'number' }, currency: str } } }, 'Read'],
    [{ name: 'network_request', description: 'Returns the headers and body of a captured request.' }, 'Read'],
    // A dangerous noun-verb is never read away by the description.
    [{ name: 'jobs.run', description: 'Gets the status of a job run.' }, 'Execute'],
    [{ name: 'WriteFile', description: 'Writes text to a path.' }, 'Destructive'],
    [{ name: 'write_comment' }, 'Write'],
  ]);
});

test('soft removals: Write when they restate a writing name or are offered instead of a write; a removal done as well counts', () => {
  assertCategories([
    [{ name: 'hide_tooltip', description: 'Removes the tooltip from the page.' }, 'Write'],
    [{ name: 'tags.update', description: 'Add or remove tags on a document.' }, 'Write'],
    [{ name: 'members', inputSchema: { properties: { action: { type: 'string', enum: ['list', 'add', 'remove'] } } } }, 'Write'],
    [{ name: 'end_session', description: 'Ends the session and clears stored tokens.' }, 'Destructive'],
    [{ name: 'labels_write', inputSchema: { properties: { method: { type: 'string', enum: ['create', 'update', 'delete'] } } } }, 'Destructive'],
    [{ name: 'dropFile', description: 'Drops a file onto the upload area.' }, 'Write'],
    [{ name: 'drag-and-drop' }, 'Write'],
    [{ name: 'drop_index' }, 'Destructive'],
  ]);
});

test('Execute: caller-controlled code, requests and deploys, and what the executed code may do does not count', () => {
  const url = { type: 'object', properties: { url: str } };
  assertCategories([
    [{ name: 'graphql', description: 'Executes a GraphQL mutation to create, update or delete records.' }, 'Execute'],
    [{ name: 'db', description: 'Runs SQL statements (SELECT, INSERT, UPDATE, DELETE).', inputSchema: sql }, 'Execute'],
    [{ name: 'http_delete', description: 'Send an HTTP DELETE request to a URL.', inputSchema: url }, 'Execute'],
    [{ name: 'api', inputSchema: { properties: { url: str, method: { type: 'string', enum: ['GET', 'POST', 'DELETE'] } } } }, 'Execute'],
    [{ name: 'getPage', description: 'Gets a web page as markdown.', inputSchema: url }, 'Read'],
    [{ name: 'publishPipeline' }, 'Execute'],
    [{ name: 'chart-upgrade', description: 'Upgrades a chart release in the cluster.' }, 'Execute'],
    [{ name: 'apply_config', description: 'Apply a YAML manifest to the cluster.' }, 'Execute'],
    [{ name: 'apply_label' }, 'Write'],
    [{ name: 'terminal_send', description: 'Sends keystrokes to an open terminal session.' }, 'Execute'],
    [{ name: 'rerunJob' }, 'Execute'],
    [{ name: 'register', inputSchema: { properties: { script: { type: 'string', description: 'Name of the stored script to attach' } } } }, 'Write'],
  ]);
});

test('Financial: money-moving or commitment-changing verbs on financial nouns, not records about them', () => {
  assertCategories([
    [{ name: 'list_payouts' }, 'Read'],
    [{ name: 'list_transactions', inputSchema: { properties: { action: { type: 'string', enum: ['refund', 'charge'] } } } }, 'Read'],
    [{ name: 'delete_card_payment_method' }, 'Destructive'],
    [{ name: 'payment_reminder_send' }, 'Write'],
    [{ name: 'createWebhookSubscription' }, 'Write'],
    [{ name: 'manage_alerts', description: 'Create or delete an event subscription for alerts.' }, 'Destructive'],
    [{ name: 'update_billing_plan' }, 'Financial'],
    [{ name: 'dispute_accept' }, 'Financial'],
    [{ name: 'setup_discount', description: 'Sets up a discount for the next order.', inputSchema: { properties: { percent: { type: 'number' }, currency: str } } }, 'Financial'],
  ]);
});

const props = (properties: Record<string, unknown>) => ({ type: 'object', properties });
const side = { type: 'string', enum: ['buy', 'sell'] };

test('Financial: orders, accounting records, prices, renewals, requests to payment APIs; not reading them or saving a card', () => {
  const api = props({ service: str, method: str, body: { type: 'object' } });
  assertCategories([
    [{ name: 'api_call', description: 'Call any endpoint of the store API. Services: customers, payments, refunds.', inputSchema: api }, 'Financial'],
    [{ name: 'api_call', description: 'Call any endpoint of the issue tracker API.', inputSchema: api }, 'Execute'],
    [{ name: 'shop.orders.place', description: 'Places an order for the items in the cart.' }, 'Financial'],
    [{ name: 'maps-place-lookup', description: 'Look up a place by id.' }, 'Read'],
    [{ name: 'record_expense', description: 'Records an expense against a cost centre.' }, 'Financial'],
    [{ name: 'post_journal_entry', description: 'Post a manual journal entry to the ledger.' }, 'Financial'],
    [{ name: 'commit_transaction', description: 'Commits the open database transaction.' }, 'Write'],
    [{ name: 'update-product', inputSchema: props({ title: str, variants: { type: 'array', items: props({ salePrice: str }) } }) }, 'Financial'],
    [{ name: 'create_price_alert', inputSchema: props({ symbol: str, price: { type: 'number' } }) }, 'Write'],
    [{ name: 'add_credit_card', description: 'Saves a credit card for later use.' }, 'Write'],
    [{ name: 'issueGiftCard' }, 'Financial'],
    [{ name: 'capture-payment' }, 'Financial'],
    [{ name: 'top_up_balance' }, 'Financial'],
    [{ name: 'domains.renew', description: 'Renews a domain for one more year.' }, 'Financial'],
    [{ name: 'lunch', description: 'Orders lunch; the cost is charged to the card on file.' }, 'Financial'],
    [{ name: 'calculateSellPrice', description: 'Calculates the sell price including fees.' }, 'Read'],
  ]);
});

test('Financial where money is traded or held on a chain: positions, margin, tokens, contracts, sides and recipients', () => {
  assertCategories([
    [{ name: 'placeLimitOrder', inputSchema: props({ pair: str, side, qty: { type: 'number' } }) }, 'Financial'],
    [{ name: 'adjust-leverage', description: 'Adjust leverage on a perpetual position.' }, 'Financial'],
    [{ name: 'set_margin_type', description: 'Sets isolated or cross margin for futures trading.' }, 'Financial'],
    [{ name: 'set_margin', description: 'Set the page margin of the document.' }, 'Write'],
    [{ name: 'close_position', description: 'Close an open futures position.' }, 'Financial'],
    [{ name: 'send_native', description: 'Send coins to an address.', inputSchema: props({ toAddress: str, amount: str }) }, 'Financial'],
    [{ name: 'contract_write', description: 'Calls a state-changing function of a smart contract.' }, 'Financial'],
    [{ name: 'create_api_token', description: 'Creates a personal API token.' }, 'Write'],
    [{ name: 'quote_swap', description: 'Returns a quote for swapping two tokens.', inputSchema: props({ amount: str, token: str }) }, 'Read'],
  ]);
});

test('Destructive: removal and force-push switches, overwritten files, signalled processes, clean builds, actions at any depth', () => {
  const [bool, action] = [{ type: 'boolean' }, (values: string[]) => ({ type: 'string', enum: values })];
  assertCategories([
    [{ name: 'push_branch', inputSchema: props({ branch: str, force: bool }) }, 'Destructive'],
    [{ name: 'sync-remote', inputSchema: props({ branch: str, delete: bool }) }, 'Destructive'],
    [{ name: 'fillField', inputSchema: props({ text: str, clear: bool }) }, 'Write'],
    [{ name: 'put-object', description: 'Uploads a file; an existing file with the same key is overwritten.' }, 'Destructive'],
    [{ name: 'uploadFile', description: 'Uploads a file. Existing files are never overwritten.' }, 'Write'],
    [{ name: 'proc', description: 'Sends SIGTERM or SIGKILL to a process.' }, 'Destructive'],
    [{ name: 'signal_process' }, 'Destructive'],
    [{ name: 'clean', description: 'Cleans build products and derived data.' }, 'Destructive'],
    [{ name: 'clean_html', description: 'Returns the page HTML without scripts.' }, 'Read'],
    [{ name: 'manage_index', inputSchema: props({ operation: action(['create', 'list', 'drop']) }) }, 'Destructive'],
    [{ name: 'tags', inputSchema: props({ mode: action(['list', 'remove']) }) }, 'Destructive'],
    [{ name: 'site_settings', inputSchema: props({ request: { oneOf: [props({ op: { const: 'rename' } }), props({ op: { const: 'delete-site' } })] } }) }, 'Destructive'],
    [{ name: 'export_then_delete' }, 'Destructive'],
  ]);
});

test('Execute: REST verb tools with a path, builds and test suites, command-running agents, terminal input, started pipelines', () => {
  const request = props({ path: str, body: { type: 'object' } });
  assertCategories([
    [{ name: 'crm_post', description: 'Send a POST request to any CRM API path.', inputSchema: request }, 'Execute'],
    [{ name: 'crm_get', description: 'Send a GET request to any CRM API path.', inputSchema: request }, 'Read'],
    [{ name: 'put_file', description: 'Writes text to a file.', inputSchema: props({ path: str, content: str }) }, 'Write'],
    [{ name: 'analyze_coverage', description: 'Analyzes coverage for a file. Runs the test suite with coverage enabled.' }, 'Execute'],
    [{ name: 'test_sim', description: 'Test an app on a simulator.' }, 'Execute'],
    [{ name: 'BuildQuery', description: 'Build a custom query string.' }, 'Read'],
    [{ name: 'ask_coder', description: 'Coding agent that edits or deletes files and runs shell commands.', inputSchema: props({ prompt: str }) }, 'Execute'],
    [{ name: 'plan_trip', description: 'An assistant that plans a trip.', inputSchema: props({ prompt: str }) }, 'Read'],
    [{ name: 'pty_write', description: 'Write input to a session.', inputSchema: props({ id: str, data: str }) }, 'Execute'],
    [{ name: 'stream_processor', description: 'Modify a stream processor.', inputSchema: props({ pipeline: { type: 'array' } }) }, 'Execute'],
    [{ name: 'workflows.start', description: 'Starts a workflow run.' }, 'Execute'],
    [{ name: 'graph_query', inputSchema: props({ query: { type: 'string', description: 'Cypher statement to run' } }) }, 'Execute'],
  ]);
});

test('classification is pure: an earlier call does not change a later one', () => {
  const tools: ClassifiableTool[] = [
    { name: 'graphql', description: 'Executes a GraphQL mutation to create records' },
    { name: 'x', description: 'Create a bucket' },
    { name: 'hide_tooltip', description: 'Removes the tooltip.' },
    { name: 'network_request', description: 'Returns a request.' },
    { name: 'playwright_like_delete', description: 'Perform an HTTP DELETE request', inputSchema: { properties: { url: str } } },
  ];
  const alone = tools.map((tool) => classifyTool(tool));
  const afterOthers = [...tools].reverse().map((tool) => classifyTool(tool)).reverse();
  assert.deepEqual(afterOthers, alone);
});
