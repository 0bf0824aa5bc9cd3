import { CONTENT_SERVICE, contentService } from '../../services/content';
import type { Slice } from '../slice';
import { CONTENT } from './content';
import { EVENTS } from './events';
import { GC } from './gc';

/** The Content service. A delete schedules a collection, as containerd's does (it may orphan a blob's file). */
export const contentServiceSlice: Slice = {
  name: 'content-service',
  requires: [CONTENT, EVENTS, GC],
  provides: [],
  plugins: () => [],
  wire(ctx) {
    const events = ctx.need(EVENTS);
    const gc = ctx.need(GC);
    ctx.services.add(
      CONTENT_SERVICE,
      contentService(
        ctx.need(CONTENT),
        ctx.log.child({ component: 'content' }),
        () => events,
        () => gc.schedule(),
      ),
    );
  },
};
