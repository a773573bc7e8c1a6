/**
 * The secret-leak check: everything the plugin emitted in a run (its log, the errors Docker got,
 * doctor's output, /metrics, /healthz, `docker plugin inspect`), gathered as named texts, searched
 * for the VSD password, each API key the VSD issued to the plugin's user, and the HTTP Basic
 * credentials made of them (base64 of "user:password" and "user:key").
 */
import { randomBytes } from "node:crypto";

export interface VsdSecrets {
  user: string;
  password: string;
  apiKeys: string[];
}

/** A user and password unlike any other string of a run (letters, digits and '-': no encoded forms to look for). */
export function leakCheckUser(): { name: string; password: string } {
  return { name: "leakcheck", password: `pw-${randomBytes(12).toString("hex")}` };
}

/** What is searched for, each with a label that says which secret it is without printing it. */
export function secretForms(s: VsdSecrets): { label: string; value: string }[] {
  const b64 = (t: string): string => Buffer.from(t).toString("base64");
  return [
    { label: "the VSD password", value: s.password },
    { label: "base64(user:password)", value: b64(`${s.user}:${s.password}`) },
    ...s.apiKeys.flatMap((k, i) => [
      { label: `API key #${i + 1}`, value: k },
      { label: `base64(user:API key #${i + 1})`, value: b64(`${s.user}:${k}`) },
    ]),
  ];
}

/** Collects what the plugin emitted, by source. */
export class Emitted {
  private readonly texts: { source: string; text: string }[] = [];

  add(source: string, text: string): void {
    this.texts.push({ source, text });
  }

  get sources(): string[] {
    return [...new Set(this.texts.map((t) => t.source))];
  }

  /** How many texts of a source were gathered. */
  count(source: string): number {
    return this.texts.filter((t) => t.source === source).length;
  }

  totalBytes(): number {
    return this.texts.reduce((n, t) => n + Buffer.byteLength(t.text), 0);
  }

  /** "<secret label> in <source> (line N)" for every occurrence; empty when nothing leaked. */
  leaks(secrets: VsdSecrets): string[] {
    const out: string[] = [];
    for (const { label, value } of secretForms(secrets)) {
      for (const { source, text } of this.texts) {
        const at = text.indexOf(value);
        if (at >= 0) out.push(`${label} in ${source} (line ${text.slice(0, at).split("\n").length})`);
      }
    }
    return out;
  }
}
