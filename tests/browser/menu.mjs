// The page menu groups its links in drop-downs: a test opens a link's group as a person would,
// by clicking the group's name, before it clicks the link.
export async function navTo(page, id) {
  const link = page.locator(`#${id}`);
  if (!(await link.isVisible())) {
    await page.locator(`details.nav-group:has(#${id}) > summary`).click();
  }
  await link.click();
}
