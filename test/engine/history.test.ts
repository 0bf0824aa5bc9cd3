/** `history` rows from an image config, as Docker lists them. */
import { errorKind } from '../../src/core/errors';
import { historyRows, MISSING } from '../../src/engine/history';

describe('history', () => {
  it('newest first; layer sizes go to the steps that made layers; the top row has the id and tags', () => {
    const rows = historyRows(
      [
        { created: '2024-01-01T00:00:00Z', created_by: '/bin/sh -c #(nop) ADD file:abc in / ' },
        { created: '2024-01-01T00:00:01Z', created_by: '/bin/sh -c #(nop)  CMD ["sh"]', empty_layer: true },
        { created: '2024-01-02T00:00:00Z', created_by: 'RUN apk add curl', comment: 'buildkit.dockerfile.v0' },
      ],
      'sha256:img',
      [4_000_000, 1_234],
      ['busybox:latest'],
    );
    expect(rows).toEqual([
      {
        id: 'sha256:img',
        created: new Date('2024-01-02T00:00:00Z'),
        createdBy: 'RUN apk add curl',
        tags: ['busybox:latest'],
        size: 1234,
        comment: 'buildkit.dockerfile.v0',
      },
      { id: MISSING, created: new Date('2024-01-01T00:00:01Z'), createdBy: '/bin/sh -c #(nop)  CMD ["sh"]', tags: [], size: 0, comment: '' },
      { id: MISSING, created: new Date('2024-01-01T00:00:00Z'), createdBy: '/bin/sh -c #(nop) ADD file:abc in / ', tags: [], size: 4_000_000, comment: '' },
    ]);
  });

  it('an image without history has no rows; a history naming more layers than exist is an error', () => {
    expect(historyRows([], 'sha256:x', [10], [])).toEqual([]);
    let err: unknown;
    try {
      historyRows([{ created_by: 'a' }, { created_by: 'b' }], 'sha256:x', [10], []);
    } catch (e) {
      err = e;
    }
    expect(errorKind(err)).toBe('Internal');
  });
});
