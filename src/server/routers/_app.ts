import { router } from '../trpc';
import { authRouter } from './auth';
import { widgetRouter } from './widget';

export const appRouter = router({
	auth: authRouter,
	widget: widgetRouter
});

export type AppRouter = typeof appRouter;
