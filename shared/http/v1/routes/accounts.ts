import { newRouter } from "../router";
export const accountRoutes = () => newRouter();
export const inviteRoutes = () => newRouter();
