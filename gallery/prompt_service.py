"""The design document's service object, as a thin facade over store and search.

from gallery.prompt_service import prompt_service
prompt_service.create_or_update_prompt("A sunset", model="m", image_path="a.png")
"""

from . import store
from .models import Prompt, Stats
from .search import search_prompts


class PromptService:
    """The seed's names for the store's functions, so its examples keep working."""

    def create_or_update_prompt(
        self, prompt_text, model=None, image_path=None, image_data=None, used_at=None
    ):
        """Record one use of a prompt; the result has .id, .total_uses, .created, ..."""
        return store.record_use(prompt_text, model, image_path, image_data, used_at)

    def search_prompts(self, query, limit=20, model=None):
        """Best matches for `query` as a list of prompts."""
        return search_prompts(query, model=model, limit=limit).items

    def get_prompt(self, prompt_id):
        """One prompt by id (NotFound if absent)."""
        return Prompt.card(prompt_id)

    def get_popular_prompts(self, limit=10, model=None):
        """The most used prompts."""
        return Prompt.top("popular", limit, model)

    def get_recent_prompts(self, limit=10, model=None):
        """The most recently used prompts."""
        return Prompt.top("recent", limit, model)

    def delete_prompt(self, prompt_id):
        """Delete one prompt (NotFound if absent)."""
        store.delete_prompt(prompt_id)

    def get_stats(self):
        """Stats with .total_prompts, .total_uses and the rest of get_stats()."""
        return Stats.current()

    def cleanup(self, without_thumbnail=False, unused_for_days=None, dry_run=False):
        """Remove (or count, on a dry run) prompts matching the cleanup criteria."""
        return store.cleanup(without_thumbnail, unused_for_days, dry_run)


prompt_service = PromptService()
