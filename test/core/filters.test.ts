import { adapt, parseFilters } from '../../src/core/filters';
import { isInvalidArgument } from '../../src/core/errors';

const img = adapt({ name: 'docker.io/library/busybox:latest', topic: '/tasks/exit' }, { 'a.b': 'x', foo: 'bar' });

describe('containerd filter expressions', () => {
  it.each([
    [[], true],
    [[''], true],
    [['name==docker.io/library/busybox:latest'], true],
    [['name=="docker.io/library/busybox:latest"'], true],
    [['name!=x'], true],
    [['name~=busybox'], true],
    [['name~=^busybox'], false],
    [['topic=="/tasks/exit"'], true],
    [['topic=="/tasks/start"'], false],
    [['labels.foo==bar'], true],
    [['labels."a.b"==x'], true],
    [['labels.a.b==x'], true],
    [['labels.foo'], true],
    [['labels.missing'], false],
    [['labels.foo==bar,name~=nope'], false],
    [['labels.foo==nope', 'name~=busy'], true],
  ])('%j matches: %s', (f, want) => {
    expect(parseFilters(f as string[])(img)).toBe(want);
  });

  it.each([['name=='], ['==x'], ['name==x,'], ['name~=(('], ['labels."unterminated']])('rejects %j as InvalidArgument', (f) => {
    let err: unknown;
    try {
      parseFilters([f]);
    } catch (e) {
      err = e;
    }
    expect(isInvalidArgument(err)).toBe(true);
  });
});
