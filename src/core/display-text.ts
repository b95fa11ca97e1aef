// The one gate for text that reaches a person: the terminal prompt, the tray window,
// notifications, the audit trail and the log. Anything that came from outside (commit and
// tag fields, key comments, names, namespaces, error details) passes through here, so a
// crafted value cannot move the cursor, erase or draw lines (ESC, CSI, C1 controls),
// reorder what is read (bidi overrides and isolates), hide text (zero-width, soft hyphen,
// tag characters, variation selectors) or start a fake line of its own.
//
// Built on Unicode properties rather than a hand list, so a character the list forgot
// cannot slip through:
//   Cc, Zl, Zp            control characters and line/paragraph separators → a space
//   Cf, Co, Cn, Cs        format characters (bidi, ZW*, U+00AD, U+180E, U+E0000–E007F),
//                         private use, unassigned (incl. noncharacters), lone surrogates
//                         → removed
//   Default_Ignorable     everything Unicode says renders as nothing (U+034F, U+115F,
//                         U+3164, variation selectors, …) → removed
// then every run of white space becomes one space, and the result is bounded.

const BREAKS = /[\p{Cc}\p{Zl}\p{Zp}]/gu;
const INVISIBLE = /[\p{Cf}\p{Co}\p{Cn}\p{Cs}\p{Default_Ignorable_Code_Point}]/gu;
const SPACES = /[\s\p{Zs}]+/gu;
/** Already clean: printable ASCII words, single spaces between (most names, keys, outcomes). */
const PLAIN = /^[\x21-\x7e]+(?: [\x21-\x7e]+)*$/;

/** What displayText removes or turns into a space, for tests and callers that check. */
export const UNSAFE_FOR_DISPLAY =
  /[\p{Cc}\p{Zl}\p{Zp}\p{Cf}\p{Co}\p{Cn}\p{Cs}\p{Default_Ignorable_Code_Point}]/u;

export const ELLIPSIS = '…';

/**
 * How many UTF-16 units of its input displayText(_, max) looks at: the result depends only
 * on that prefix and on whether the input is longer. Callers that assemble a long value
 * need not build more than one unit beyond this.
 */
export function scanBudget(max: number): number {
  return Math.max(1, Math.floor(max)) * 8 + 64;
}

/**
 * Make untrusted text safe to show on one line: no control, format, private-use,
 * unassigned or invisible characters, white space collapsed, at most `max` code points
 * (an ellipsis marks a cut).
 */
export function displayText(text: string, max = 200): string {
  const limit = Math.max(1, Math.floor(max));
  // What the steps below would return unchanged, known without them (the request path
  // cleans a dozen fields per request).
  if (text.length <= limit && PLAIN.test(text)) return text;
  // Bound the work first: a multi-megabyte subject is cut before it is scanned.
  const budget = scanBudget(limit);
  const cutEarly = text.length > budget;
  const head = cutEarly ? text.slice(0, budget) : text;
  const clean = head.replace(BREAKS, ' ').replace(INVISIBLE, '').replace(SPACES, ' ').trim();
  const chars = [...clean];
  if (chars.length > limit) return `${chars.slice(0, limit - 1).join('')}${ELLIPSIS}`;
  if (cutEarly) {
    return chars.length === limit
      ? `${chars.slice(0, limit - 1).join('')}${ELLIPSIS}`
      : `${clean}${ELLIPSIS}`;
  }
  return clean;
}
