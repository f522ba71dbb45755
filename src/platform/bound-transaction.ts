import type { Knex } from 'knex';

/** What a transaction object's statements run on, while it is open. */
export interface TransactionTarget {
  readonly open: boolean;
}

export const TARGET = Symbol('transaction target');

export type BoundTransaction<H extends TransactionTarget> = Knex & { readonly isTransaction: true; isCompleted(): boolean; [TARGET]: H };

/**
 * The prototype of transaction objects that cost one small function object each instead of a whole
 * knex instance (what knex's own transactions build): `base` is a knex of the database's dialect
 * without a connection of its own (it builds SQL), and every builder a transaction starts — and, with
 * `bindRaw`, every raw statement — runs on the transaction's target, through knex's public
 * `.connection()` (`_connection` for raw statements, which knex's runner honours the same way). The
 * base's query events are reported to the database's (`root`) listeners.
 */
export function boundPrototype(base: Knex, root: Knex, bindRaw: boolean): object {
  for (const event of ['start', 'query', 'query-error', 'query-response']) base.on(event, (...args: unknown[]) => root.emit(event, ...args));
  const properties: PropertyDescriptorMap = {
    queryBuilder: {
      value(this: BoundTransaction<TransactionTarget>) {
        return base.queryBuilder().connection(this[TARGET]);
      },
    },
    isTransaction: { value: true },
    isCompleted: {
      value(this: BoundTransaction<TransactionTarget>) {
        return !this[TARGET].open;
      },
    },
  };
  if (bindRaw) {
    properties.raw = {
      value(this: BoundTransaction<TransactionTarget>, ...args: Parameters<Knex['raw']>) {
        const raw = base.raw(...args);
        (raw as unknown as { _connection: unknown })._connection = this[TARGET];
        return raw;
      },
    };
  }
  return Object.create(base, properties) as object;
}

/** A transaction object of `proto` (see boundPrototype) whose statements run on `target`. */
export function boundTransaction<H extends TransactionTarget>(proto: object, target: H): BoundTransaction<H> {
  const trx = function (tableName?: Knex.TableDescriptor) {
    const builder = trx.queryBuilder();
    return tableName === undefined ? builder : builder.table(tableName);
  } as unknown as BoundTransaction<H>;
  Object.setPrototypeOf(trx, proto);
  Object.defineProperty(trx, TARGET, { value: target });
  return trx;
}
