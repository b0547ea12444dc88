// Financial vocabulary and rules for the risk classifier: what turns a state change into moving money or changing a
// financial commitment (payments, orders, trades, accounting records, prices, discounts, on-chain transfers), in
// names, descriptions and parameters. Reading any of these is Read: every rule here needs a state change.
import type { Emit } from './wording.js';
import { FINANCIAL } from './vocabulary.js';

/** Nouns that turn a state change (create, send, cancel, delete …) into a financial commitment. */
const FINANCIAL_NOUNS = new Set(
  ('invoice invoices subscription subscriptions payment payments charge charges refund refunds payout payouts transfer ' +
    'transfers price prices pricing coupon coupons discount discounts voucher vouchers promo promotion promotions billing ' +
    'checkout wallet wallets money funds dispute disputes order orders deposit deposits withdrawal withdrawals expense ' +
    'expenses bill bills receipt receipts credit credits journal journals transaction transactions balance balances fee fees ' +
    'loan loans trade trades leverage gift gifts giftcard giftcards coin coins crypto cryptocurrency stablecoin stablecoins nft nfts ' +
    'erc20 erc721 erc1155 bep20 usdc usdt').split(' '),
);
/**
 * After a financial noun these name the thing acted on, which is not the commitment itself: an invoice reminder, a
 * saved payment method, subscription updates. Reminding, saving or deleting those moves no money.
 */
const NOT_THE_COMMITMENT = new Set(
  ('method methods reminder reminders notification notifications setting settings report reports note notes message messages ' +
    'email emails template templates comment comments address addresses update updates event events log logs portal group groups ' +
    'card cards alert alerts').split(' '),
);
/** Before a financial noun these make it something else: a notification subscription, a sort order, a read receipt. */
const NOT_BILLING = new Set(
  ('notification notifications event events webhook webhooks topic topics resource resources push repository repo channel ' +
    'channels feed feeds calendar newsletter thread threads sort display work read delivery database db sql').split(' '),
);
/** A credit note and a gift card are the commitment itself, although "note" and "card" usually qualify ("credit card"). */
const COMMITMENT_COMPOUNDS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['credit', new Set(['note', 'notes', 'memo', 'memos'])],
  ['gift', new Set(['card', 'cards'])],
]);
/** A database transaction is begun, committed or rolled back; a financial one is created, sent or signed. */
const DATABASE_TRANSACTION_VERBS = new Set(['commit', 'rollback', 'begin', 'start', 'end', 'abort']);

/**
 * Where the tool trades or holds crypto assets (a futures exchange, a wallet, a chain), a state change on a token, a
 * contract, a position or the margin moves money too ("set_margin_mode", "transfer_token", "write_contract").
 */
const TRADING_CONTEXT =
  /\b(?:block ?chains?|on-?chain|crypto(?:s|currenc(?:y|ies))?|wallets?|web3|defi|dex|erc-?\d+|bep-?\d+|smart contracts?|gas (?:fees?|limit|price)|g?wei|futures|perpetuals?|trading|nfts?|stablecoins?|usdc|usdt|eth|btc)\b/;
const TRADING_KEY = /^(?:token|contract|wallet)_?address$|^private_?key$|^mnemonic$|^chain_?id$|^gas_?(?:limit|price)$/i;
const TRADING_NOUNS = new Set('token tokens contract contracts margin position positions asset assets allowance allowances'.split(' '));

/** Verbs that buy what they act on only with some objects: registering or renewing a domain, renewing a licence. */
const PAID_WITH: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['register', new Set(['domain', 'domains'])],
  ['renew', new Set('domain domains license licenses licence licences plan plans membership memberships'.split(' '))],
  ['transfer', new Set(['domain', 'domains'])],
]);

/** What the trading context is read from, set by `setMoneyContext` for each call (classification is synchronous). */
const context = { lower: '', words: [] as readonly string[], keys: [] as readonly string[], trading: -1 };

export function setMoneyContext(lowerDescription: string, words: readonly string[], parameterKeys: readonly string[]): void {
  context.lower = lowerDescription;
  context.words = words;
  context.keys = parameterKeys;
  context.trading = -1;
}

/** Whether the tool works where money is traded or held on a chain: read once a rule needs it. */
export function trading(): boolean {
  if (context.trading < 0) {
    const found =
      TRADING_CONTEXT.test(context.lower) || context.words.some((w) => TRADING_CONTEXT.test(w)) || context.keys.some((k) => TRADING_KEY.test(k));
    context.trading = found ? 1 : 0;
  }
  return context.trading === 1;
}

/** The financial noun a state-changing name acts on ("create_vendor_credit", "set-leverage"), or '' when none. */
export function nameFinancialObject(words: readonly string[], primary: number): string {
  const verb = words[primary]!;
  for (let i = 0; i < words.length; i++) {
    if (i === primary) continue;
    const word = words[i]!;
    const next = words[i + 1] ?? '';
    if (PAID_WITH.get(verb)?.has(word)) return word;
    if (TRADING_NOUNS.has(word) && trading()) return word;
    if (!FINANCIAL_NOUNS.has(word)) continue;
    if (NOT_BILLING.has(words[i - 1] ?? '') || NOT_BILLING.has(words[i - 2] ?? '')) continue;
    if (NOT_THE_COMMITMENT.has(next) && !COMMITMENT_COMPOUNDS.get(word)?.has(next)) continue;
    if (word.startsWith('transaction') && DATABASE_TRANSACTION_VERBS.has(verb)) continue;
    return word;
  }
  return '';
}

const OBJECT_WORDS = String.raw`[ \t]+(?:[\p{L}\p{N}'’-]+[ \t]+){0,3}?`;
/**
 * Financial objects after a state-changing verb in a description ("creates an invoice", "transfers funds", "place a
 * market order"), unless the financial noun only qualifies what follows ("sends an invoice reminder"); "the order of"
 * and "the order in which" are sequences.
 */
const FINANCIAL_OBJECT = new RegExp(
  OBJECT_WORDS +
    String.raw`(?:invoices?|subscriptions?|payments?|charges?|refunds?|payouts?|money|funds|disputes?|(?:billing|pricing) plans?|` +
    String.raw`deposits?|withdrawals?|expenses?|bills?|receipts?|credit (?:notes?|memos?)|credits?|journals?|journal entr(?:y|ies)|` +
    String.raw`orders?(?![ \t]+(?:of|in)\b)|discounts?|coupons?|vouchers?|prices?|trades?|leverage|transactions?|gift cards?|loans?|` +
    String.raw`cryptocurrenc(?:y|ies)|stablecoins?|coins?|nfts?)` +
    String.raw`(?![\p{L}])(?![ \t]+(?:${[...NOT_THE_COMMITMENT].join('|')})\b)`,
  'uy',
);
const TRADING_OBJECT = new RegExp(OBJECT_WORDS + String.raw`(?:tokens?|contracts?|margin|positions?|assets?|allowances?)(?![\p{L}])`, 'uy');
/** Found before the financial noun, one of these makes it something else ("delete a notification thread subscription"). */
const NOT_BILLING_WORD = new RegExp(String.raw`\b(?:${[...NOT_BILLING].join('|')})\b`, 'g');

/**
 * Where a financial object after the verb `token` ends in a description, or -1: "a notification thread subscription"
 * is not a billing one, and committing or rolling back a transaction is a database's.
 */
export function financialObjectEnd(text: string, from: number, token: string): number {
  FINANCIAL_OBJECT.lastIndex = from;
  const m = FINANCIAL_OBJECT.exec(text);
  if (m) {
    const end = from + m[0].length;
    NOT_BILLING_WORD.lastIndex = from;
    const qualifier = NOT_BILLING_WORD.exec(text);
    const databaseTransaction = m[0].endsWith('transaction') || m[0].endsWith('transactions');
    if (!(qualifier && qualifier.index < end) && !(databaseTransaction && startsWithAny(token, DATABASE_TRANSACTION_VERBS))) return end;
  }
  TRADING_OBJECT.lastIndex = from;
  const traded = TRADING_OBJECT.exec(text);
  return traded && trading() ? from + traded[0].length : -1;
}

function startsWithAny(word: string, prefixes: ReadonlySet<string>): boolean {
  for (const prefix of prefixes) if (word.startsWith(prefix)) return true;
  return false;
}

/**
 * Anywhere in the description of a tool not known to read: the tool itself pays ("paid in USDC", "will be charged to
 * the card"). Billing words alone ("billed hourly") are left out: creating a billable resource is a Write.
 */
const PAYMENT_PHRASE =
  /\b(?:(?:paid|charged|debited|deducted)[ \t]+(?:from|with|in|via|using|against|to)[ \t]+(?:your|the|an?|usdc|usdt|crypto|credits?|wallet|balance|card)|will[ \t]+(?:be[ \t]+)?(?:charged|debited))\b/;
export const PAYMENT_HINT = /paid|charged|debited|deducted/;

/** Emits a Financial signal when the description says the tool costs money. */
export function readPaymentPhrase(lower: string, emit: Emit): void {
  const m = PAYMENT_HINT.test(lower) ? PAYMENT_PHRASE.exec(lower) : null;
  if (m) emit(FINANCIAL, `description: "${m[0]}" (costs money)`, 0);
}

/** Descriptions of generic API passthroughs that list money services ("Available services: payments, refunds …"). */
export const MONEY_SERVICES = /\b(?:payments|refunds|payouts|charges|transfers|invoices|checkouts?)\b/;

const PRICE_KEY = /price|^unit_?amount$/i;
const MAX_DEPTH = 3;

/** A parameter, at any depth up to three objects or arrays down, that sets a price ("regular_price", "variants[].price"). */
export function priceParameter(schema: unknown, depth = 0): string {
  if (typeof schema !== 'object' || schema === null || depth > MAX_DEPTH) return '';
  const node = schema as Record<string, unknown>;
  const props = node['properties'];
  if (typeof props === 'object' && props !== null) {
    for (const [key, value] of Object.entries(props)) {
      if (PRICE_KEY.test(key)) return key;
      const found = priceParameter(value, depth + 1);
      if (found) return found;
    }
  }
  return node['items'] ? priceParameter(node['items'], depth + 1) : '';
}

/** Parameter names that say where money or an asset goes, or which asset: with an amount, a transfer or a trade. */
export const COUNTERPARTY_OR_ASSET = new Set(
  'to recipient receiver destination payee beneficiary address wallet iban symbol token asset coin pair'.split(' '),
);

/** An enum offering both sides of a trade ("side": "buy" | "sell"). */
export function tradeSides(values: unknown[]): boolean {
  let buy = false;
  let sell = false;
  for (const v of values) {
    if (typeof v !== 'string') continue;
    const lower = v.toLowerCase();
    if (lower === 'buy' || lower === 'long' || lower === 'bid') buy = true;
    else if (lower === 'sell' || lower === 'short' || lower === 'ask') sell = true;
  }
  return buy && sell;
}
