/**
 * A small strict XML parser for tests: elements, attributes (quoted, unique), text, the five
 * predefined entities and numeric references, comments. It throws on anything not
 * well-formed (unclosed or mismatched tags, bare `&` or `<`, duplicate attributes, content
 * after the root), which is what the policy tests need without a DOM dependency.
 */
export interface Element {
  readonly name: string;
  readonly attributes: { [name: string]: string };
  readonly children: Element[];
  /** Concatenated text directly inside this element. */
  readonly text: string;
}

const NAME = /[A-Za-z_][A-Za-z0-9_.:-]*/y;

function decode(raw: string, at: number): string {
  if (raw.includes('<')) throw new Error(`bare "<" at ${at}`);
  return raw.replace(/&([^;]*);|&/g, (_match, entity: string | undefined) => {
    if (entity === undefined) throw new Error(`bare "&" at ${at}`);
    const named: { [k: string]: string } = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (entity in named) return named[entity];
    const num = /^#(x[0-9a-fA-F]+|[0-9]+)$/.exec(entity);
    if (num) return String.fromCodePoint(num[1].startsWith('x') ? parseInt(num[1].slice(1), 16) : parseInt(num[1], 10));
    throw new Error(`unknown entity &${entity}; at ${at}`);
  });
}

export function parseXml(xml: string): Element {
  let pos = 0;
  const skipSpace = () => { while (pos < xml.length && /\s/.test(xml[pos])) pos++; };
  const skipMisc = () => {
    for (;;) {
      skipSpace();
      if (xml.startsWith('<!--', pos)) {
        const end = xml.indexOf('-->', pos);
        if (end < 0) throw new Error('unterminated comment');
        pos = end + 3;
      } else if (xml.startsWith('<?', pos)) {
        const end = xml.indexOf('?>', pos);
        if (end < 0) throw new Error('unterminated processing instruction');
        pos = end + 2;
      } else {return;}
    }
  };
  const name = (): string => {
    NAME.lastIndex = pos;
    const m = NAME.exec(xml);
    if (!m) throw new Error(`name expected at ${pos}`);
    pos += m[0].length;
    return m[0];
  };
  const element = (): Element => {
    if (xml[pos] !== '<') throw new Error(`"<" expected at ${pos}`);
    pos++;
    const tag = name();
    const attributes: { [name: string]: string } = {};
    for (;;) {
      const before = pos;
      skipSpace();
      if (xml.startsWith('/>', pos)) { pos += 2; return { name: tag, attributes, children: [], text: '' }; }
      if (xml[pos] === '>') { pos++; break; }
      if (pos === before) throw new Error(`space expected before attribute at ${pos}`);
      const attr = name();
      skipSpace();
      if (xml[pos] !== '=') throw new Error(`"=" expected at ${pos}`);
      pos++;
      skipSpace();
      const quote = xml[pos];
      if (quote !== '"' && quote !== "'") throw new Error(`quoted value expected at ${pos}`);
      const end = xml.indexOf(quote, pos + 1);
      if (end < 0) throw new Error('unterminated attribute value');
      if (attr in attributes) throw new Error(`duplicate attribute ${attr} on <${tag}>`);
      attributes[attr] = decode(xml.slice(pos + 1, end), pos);
      pos = end + 1;
    }
    const children: Element[] = [];
    let text = '';
    for (;;) {
      if (pos >= xml.length) throw new Error(`<${tag}> is not closed`);
      if (xml.startsWith('</', pos)) {
        pos += 2;
        const closing = name();
        if (closing !== tag) throw new Error(`</${closing}> closes <${tag}>`);
        skipSpace();
        if (xml[pos] !== '>') throw new Error(`">" expected at ${pos}`);
        pos++;
        return { name: tag, attributes, children, text };
      }
      if (xml.startsWith('<!--', pos)) { skipMisc(); continue; }
      if (xml[pos] === '<') { children.push(element()); continue; }
      const next = xml.indexOf('<', pos);
      const end = next < 0 ? xml.length : next;
      text += decode(xml.slice(pos, end), pos);
      pos = end;
    }
  };
  skipMisc();
  const root = element();
  skipMisc();
  if (pos !== xml.length) throw new Error(`content after the root element at ${pos}`);
  return root;
}

/** Elements along a slash-separated path of names below `root` (every match). */
export function findAll(root: Element, path: string): Element[] {
  let current = [root];
  for (const step of path.split('/')) current = current.flatMap((e) => e.children.filter((c) => c.name === step));
  return current;
}

/** Every element named `name` anywhere below `root`. */
export function descendants(root: Element, name: string): Element[] {
  return root.children.flatMap((c) => [...(c.name === name ? [c] : []), ...descendants(c, name)]);
}
