/**
 * `JSON.stringify` that serializes each object once for as long as the returned function is used:
 * the rows of one batch mostly share one detail object (a login into 400 organizations writes 400
 * audit records and 400 events with two), and serializing it again for every row took about a
 * millisecond of such a login. Objects must not change while the function is in use.
 */
export function jsonOnce(): (value: object) => string {
  const texts = new Map<object, string>();
  return (value) => {
    let text = texts.get(value);
    if (text === undefined) {
      text = JSON.stringify(value);
      texts.set(value, text);
    }
    return text;
  };
}

/** The detail of a row that has none: one shared, frozen object. */
export const NO_DETAIL: Readonly<Record<string, never>> = Object.freeze({});
