import { router } from '../trpc';
import { authRouter } from './auth';
import { conversationsRouter } from './conversations';
import { messagesRouter } from './messages';
import { presenceRouter } from './presence';
import { visitorsRouter } from './visitors';
import { widgetRouter } from './widget';

export const appRouter = router({
	auth: authRouter,
	widget: widgetRouter,
	visitors: visitorsRouter,
	conversations: conversationsRouter,
	messages: messagesRouter,
	presence: presenceRouter
});

export type AppRouter = typeof appRouter;
