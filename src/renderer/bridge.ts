// The preload's API, typed by the shared contract. The renderer has no other way to main.
import { BRIDGE_KEY, type BridgeApi } from '../ipc-contract.js';

export function bridge(): BridgeApi {
  const api = (window as unknown as Record<string, BridgeApi | undefined>)[BRIDGE_KEY];
  if (!api) throw new Error('the preload bridge is missing');
  return api;
}

/** Build an element with text only: nothing from main is ever parsed as HTML. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; text?: string; title?: string; attrs?: Record<string, string> } = {},
  children: (Node | string)[] = [],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined) node.textContent = props.text;
  if (props.title) node.title = props.title;
  for (const [k, v] of Object.entries(props.attrs ?? {})) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} is missing`);
  return node as T;
}
