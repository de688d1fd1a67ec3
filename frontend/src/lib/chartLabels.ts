/**
 * Chart labels cut to fit without becoming the same text. Model names share long prefixes
 * ("smollm2-135m-instruct" and "smollm2-135m-instruct-q4_1.gguf"), and a label such as
 * "model · check" ends with what tells bars apart; cutting the end ("smollm2-135m-inst…") made
 * six different bars read alike. So the middle is cut, keeping the start and as much of the end
 * as it takes for the cut labels to be as distinct as the full ones.
 */
export const LABEL_CHARS = 26;

const SEPARATORS = " -_./:·@";

function cut(s: string, max: number, tail: number): string {
  if (s.length <= max) return s;
  // Start the kept end at a word boundary when one is near ("…gguf", not "…guf"), as long as
  // a few characters of the start remain.
  let start = s.length - tail;
  for (let back = 0; back <= 8 && start - back > 0 && max - 1 - (tail + back) >= 4; back++) {
    if (SEPARATORS.includes(s[start - back - 1])) {
      start -= back;
      break;
    }
  }
  const kept = s.length - start;
  return `${s.slice(0, Math.max(0, max - 1 - kept))}…${s.slice(start)}`;
}

const distinctCount = (xs: string[]) => new Set(xs).size;

/** Where ``s`` first differs from the most similar other label. */
function firstDifference(s: string, others: string[]): number {
  let at = 0;
  for (const o of others) {
    if (o === s) continue;
    let i = 0;
    while (i < s.length && i < o.length && s[i] === o[i]) i++;
    at = Math.max(at, i);
  }
  return at;
}

/** Labels of at most ``max`` characters, as distinct as the full labels (same order). */
export function chartLabels(labels: string[], max = LABEL_CHARS): string[] {
  const wanted = distinctCount(labels);
  // A balanced cut first, then a longer kept end (the end usually names the variant or check).
  for (let tail = Math.floor((max - 1) / 2); tail <= max - 2; tail++) {
    const out = labels.map((l) => cut(l, max, tail));
    if (distinctCount(out) === wanted) return out;
  }
  // The labels differ only in the middle: show the start, then the text around the difference.
  const head = Math.min(6, Math.floor(max / 4));
  const out = labels.map((l) => {
    if (l.length <= max) return l;
    const d = firstDifference(l, labels);
    const room = max - head - 2; // two ellipses
    const from = Math.max(head, Math.min(d - Math.floor(room / 3), l.length - room));
    const window = l.slice(from, from + room);
    return `${l.slice(0, head)}…${window}${from + room < l.length ? "…" : ""}`;
  });
  if (distinctCount(out) === wanted) return out;
  // Still alike (labels that differ in several places): number them, keeping them apart.
  return out.map((l, i) => `${l.slice(0, max - String(i + 1).length - 2)}… ${i + 1}`.slice(-max));
}
